// The tree behind rsd::Config: YAML's data model reduced to what configs use, with the place each
// value was set kept for error messages. Private to librsd.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rsd::detail {

struct ConfigNode {
  enum class Kind { Null, Bool, Int, Float, String, List, Map };

  Kind kind = Kind::Null;
  std::string text;                                      // scalars: the text as written
  std::vector<ConfigNode> items;                         // List
  std::vector<std::pair<std::string, ConfigNode>> fields;  // Map, in file order
  std::string origin;                                    // "file:line" that set this value

  static ConfigNode map(std::string origin = {});

  bool is_scalar() const { return kind != Kind::List && kind != Kind::Map; }
  const ConfigNode* find(const std::string& key) const;
  ConfigNode* find(const std::string& key);
  /// The field `key`, appended when missing.
  ConfigNode& field(const std::string& key);
  void erase(const std::string& key);
};

/// "a number", "a list", ... for messages.
const char* describe(ConfigNode::Kind kind);

/// The kind a plain (unquoted) YAML scalar has under YAML 1.2's core schema.
ConfigNode::Kind classify_plain_scalar(const std::string& text);

/// A short rendering of a value for messages: the scalar text, or "a list"/"a map".
std::string preview(const ConfigNode& node);

/// Dotted paths of every map key in `root` (depth first, file order).
std::vector<std::string> all_key_paths(const ConfigNode& root);

/// Splits "a.b.c" into its parts; throws ConfigError on an empty part.
std::vector<std::string> split_key(const std::string& key);

}  // namespace rsd::detail
