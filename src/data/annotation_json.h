// Reading Bench2Drive's annotation files: gzip through zlib, Python's non-finite number tokens, and
// typed access to the JSON with errors that name the file and the key.
#pragma once

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace rsd::data::detail {

/// The decompressed contents of a gzip file (all members). Throws rsd::DataError naming the file
/// when it cannot be read, is not gzip, is truncated or fails its CRC.
std::string read_gzip_file(const std::string& path);

/// Python's json module writes NaN, Infinity and -Infinity for non-finite floats; JSON (and
/// nlohmann) has no such tokens. Replaces each of them outside strings by null, so that every
/// non-finite value reads as "no value", like an explicit null.
std::string replace_non_finite_tokens(std::string_view text);

/// read_gzip_file + replace_non_finite_tokens + parse. Parse errors name the file and the byte.
nlohmann::json read_annotation_json(const std::string& path);
/// The same for text already decompressed; `path` names its source in errors.
nlohmann::json parse_annotation_text(const std::string& decompressed, const std::string& path);

/// Typed access to one parsed file. `where` is the key path of the object being read (e.g.
/// "bounding_boxes[3]"); messages read "<file>: <where>.<key>: <what>".
class JsonFields {
 public:
  explicit JsonFields(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }

  [[noreturn]] void fail(const std::string& where, const char* key, const std::string& what) const;

  /// The member `key`; an error when it is missing or null.
  const nlohmann::json& required(const nlohmann::json& object, const char* key,
                                 const std::string& where) const;
  /// The member `key`, or nullptr when it is missing or null.
  const nlohmann::json* optional(const nlohmann::json& object, const char* key) const;

  /// A finite number; an error when missing, null (NaN, Infinity) or not a number.
  double number(const nlohmann::json& object, const char* key, const std::string& where) const;
  /// nullopt when missing or null; an error when present with another type.
  std::optional<double> optional_number(const nlohmann::json& object, const char* key,
                                        const std::string& where) const;
  /// An integer (a number with an integral value); an error otherwise.
  int integer(const nlohmann::json& object, const char* key, const std::string& where) const;
  std::optional<int> optional_integer(const nlohmann::json& object, const char* key,
                                      const std::string& where) const;
  /// true/false or 0/1 (Bench2Drive writes both); `fallback` when missing or null.
  bool flag(const nlohmann::json& object, const char* key, const std::string& where,
            bool fallback) const;
  std::string string(const nlohmann::json& object, const char* key,
                     const std::string& where) const;
  /// A string, or a number written as its decimal text (actor ids); "" when missing or null.
  std::string optional_id(const nlohmann::json& object, const char* key,
                          const std::string& where) const;

  Eigen::Vector3d vector3(const nlohmann::json& object, const char* key,
                          const std::string& where) const;
  std::optional<Eigen::Vector3d> optional_vector3(const nlohmann::json& object, const char* key,
                                                  const std::string& where) const;
  Eigen::Matrix3d matrix3(const nlohmann::json& object, const char* key,
                          const std::string& where) const;
  Eigen::Matrix4d matrix4(const nlohmann::json& object, const char* key,
                          const std::string& where) const;

 private:
  template <int Rows, int Cols>
  Eigen::Matrix<double, Rows, Cols> matrix(const nlohmann::json& value, const char* key,
                                           const std::string& where) const;
  std::string file_;
};

}  // namespace rsd::data::detail
