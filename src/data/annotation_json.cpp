#include "data/annotation_json.h"

#include <zlib.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include "rsd/util/error.h"

namespace rsd::data::detail {
namespace {

using nlohmann::json;
using rsd::detail::concat;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(concat(path, ": cannot open the file"));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(concat(path, ": read error"));
  return bytes;
}

const char* type_name(const json& value) { return value.type_name(); }

bool matches_at(std::string_view text, size_t at, std::string_view token) {
  return text.compare(at, token.size(), token) == 0;
}

}  // namespace

using rsd::detail::concat;

std::string read_gzip_file(const std::string& path) {
  const std::string compressed = read_bytes(path);
  if (compressed.size() < 2 || static_cast<unsigned char>(compressed[0]) != 0x1f ||
      static_cast<unsigned char>(compressed[1]) != 0x8b) {
    throw DataError(concat(path, ": not a gzip file (", compressed.size(), " bytes)"));
  }
  z_stream stream{};
  // 16 + MAX_WBITS: gzip framing only (header and CRC-32/length trailer are checked).
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
    throw DataError(concat(path, ": zlib could not start inflating"));
  }
  std::string out;
  out.resize(compressed.size() * 6 + 4096);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  size_t produced = 0;
  int status = Z_OK;
  while (true) {
    if (produced == out.size()) out.resize(out.size() * 2);
    stream.next_out = reinterpret_cast<Bytef*>(&out[produced]);
    stream.avail_out = static_cast<uInt>(out.size() - produced);
    status = inflate(&stream, Z_NO_FLUSH);
    produced = out.size() - stream.avail_out;
    if (status == Z_STREAM_END) {
      // Python's gzip writes one member, but concatenated members are valid gzip: go on.
      if (stream.avail_in == 0) break;
      if (inflateReset(&stream) != Z_OK) break;
      continue;
    }
    if (status == Z_OK) continue;
    if (status == Z_BUF_ERROR && stream.avail_in == 0) {
      inflateEnd(&stream);
      throw DataError(concat(path, ": truncated gzip file (ends after ", compressed.size(),
                             " bytes, ", produced, " bytes decompressed)"));
    }
    if (status == Z_BUF_ERROR) continue;  // output buffer full: grow and go on
    const std::string message = stream.msg ? stream.msg : "error " + std::to_string(status);
    inflateEnd(&stream);
    throw DataError(concat(path, ": corrupt gzip data (", message, ")"));
  }
  inflateEnd(&stream);
  out.resize(produced);
  return out;
}

std::string replace_non_finite_tokens(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 64);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
    } else if (c == 'N' && matches_at(text, i, "NaN")) {
      out += "null";
      i += 2;
    } else if (c == 'I' && matches_at(text, i, "Infinity")) {
      out += "null";
      i += 7;
    } else if (c == '-' && matches_at(text, i, "-Infinity")) {
      out += "null";
      i += 8;
    } else {
      out += c;
    }
  }
  return out;
}

json read_annotation_json(const std::string& path) { return parse_annotation_text(read_gzip_file(path), path); }

json parse_annotation_text(const std::string& decompressed, const std::string& path) {
  const std::string text = replace_non_finite_tokens(decompressed);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw DataError(concat(path, ": bad JSON at byte ", e.byte, " of the decompressed text: ",
                           e.what()));
  } catch (const json::exception& e) {  // e.g. a number beyond double's range (out_of_range 406)
    throw DataError(concat(path, ": bad JSON in the decompressed text: ", e.what()));
  }
}

void JsonFields::fail(const std::string& where, const char* key, const std::string& what) const {
  std::string path = where;
  if (key != nullptr) path += path.empty() ? key : std::string(".") + key;
  throw DataError(concat(file_, ": ", path.empty() ? "(top level)" : path, ": ", what));
}

const json& JsonFields::required(const json& object, const char* key,
                                 const std::string& where) const {
  if (!object.is_object()) fail(where, nullptr, concat("expected an object, got ", type_name(object)));
  const auto it = object.find(key);
  if (it == object.end()) fail(where, key, "missing");
  if (it->is_null()) fail(where, key, "null (or a NaN/Infinity token) where a value is needed");
  return *it;
}

const json* JsonFields::optional(const json& object, const char* key) const {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

double JsonFields::number(const json& object, const char* key, const std::string& where) const {
  const json& value = required(object, key, where);
  if (!value.is_number()) fail(where, key, concat("expected a number, got ", type_name(value)));
  return value.get<double>();
}

std::optional<double> JsonFields::optional_number(const json& object, const char* key,
                                                  const std::string& where) const {
  const json* value = optional(object, key);
  if (value == nullptr) return std::nullopt;
  if (value->is_boolean()) return value->get<bool>() ? 1.0 : 0.0;
  if (!value->is_number()) fail(where, key, concat("expected a number, got ", type_name(*value)));
  return value->get<double>();
}

int JsonFields::integer(const json& object, const char* key, const std::string& where) const {
  const double value = number(object, key, where);
  if (value != std::floor(value) || std::fabs(value) > 2e9) {
    fail(where, key, concat("expected an integer, got ", value));
  }
  return static_cast<int>(value);
}

std::optional<int> JsonFields::optional_integer(const json& object, const char* key,
                                                const std::string& where) const {
  if (optional(object, key) == nullptr) return std::nullopt;
  return integer(object, key, where);
}

bool JsonFields::flag(const json& object, const char* key, const std::string& where,
                      bool fallback) const {
  const json* value = optional(object, key);
  if (value == nullptr) return fallback;
  if (value->is_boolean()) return value->get<bool>();
  if (value->is_number()) return value->get<double>() != 0.0;
  fail(where, key, concat("expected a bool or 0/1, got ", type_name(*value)));
}

std::string JsonFields::string(const json& object, const char* key,
                               const std::string& where) const {
  const json& value = required(object, key, where);
  if (!value.is_string()) fail(where, key, concat("expected a string, got ", type_name(value)));
  return value.get<std::string>();
}

std::string JsonFields::optional_id(const json& object, const char* key,
                                    const std::string& where) const {
  const json* value = optional(object, key);
  if (value == nullptr) return "";
  if (value->is_string()) return value->get<std::string>();
  if (value->is_number_integer()) return std::to_string(value->get<int64_t>());
  fail(where, key, concat("expected a string or an integer id, got ", type_name(*value)));
}

template <int Rows, int Cols>
Eigen::Matrix<double, Rows, Cols> JsonFields::matrix(const json& value, const char* key,
                                                     const std::string& where) const {
  constexpr bool is_vector = Cols == 1;
  const auto shape_error = [&]() {
    fail(where, key, is_vector ? concat("expected an array of ", Rows, " numbers")
                               : concat("expected a ", Rows, "x", Cols, " array of arrays"));
  };
  if (!value.is_array() || value.size() != static_cast<size_t>(Rows)) shape_error();
  Eigen::Matrix<double, Rows, Cols> out;
  for (int r = 0; r < Rows; ++r) {
    const json& row = value[static_cast<size_t>(r)];
    for (int c = 0; c < Cols; ++c) {
      const json* element = &row;
      if (!is_vector) {
        if (!row.is_array() || row.size() != static_cast<size_t>(Cols)) shape_error();
        element = &row[static_cast<size_t>(c)];
      }
      if (element->is_null()) {
        fail(where, key, concat("element (", r, is_vector ? "" : concat(", ", c),
                                ") is NaN, Infinity or null"));
      }
      if (!element->is_number()) shape_error();
      out(r, c) = element->get<double>();
    }
  }
  return out;
}

Eigen::Vector3d JsonFields::vector3(const json& object, const char* key,
                                    const std::string& where) const {
  return matrix<3, 1>(required(object, key, where), key, where);
}

std::optional<Eigen::Vector3d> JsonFields::optional_vector3(const json& object, const char* key,
                                                            const std::string& where) const {
  const json* value = optional(object, key);
  if (value == nullptr) return std::nullopt;
  return matrix<3, 1>(*value, key, where);
}

Eigen::Matrix3d JsonFields::matrix3(const json& object, const char* key,
                                    const std::string& where) const {
  return matrix<3, 3>(required(object, key, where), key, where);
}

Eigen::Matrix4d JsonFields::matrix4(const json& object, const char* key,
                                    const std::string& where) const {
  return matrix<4, 4>(required(object, key, where), key, where);
}

}  // namespace rsd::data::detail
