#include "config/config_node.h"

#include <algorithm>
#include <regex>

#include "rsd/util/error.h"

namespace rsd::detail {

ConfigNode ConfigNode::map(std::string origin) {
  ConfigNode node;
  node.kind = Kind::Map;
  node.origin = std::move(origin);
  return node;
}

const ConfigNode* ConfigNode::find(const std::string& key) const {
  for (const auto& [name, value] : fields) {
    if (name == key) return &value;
  }
  return nullptr;
}

ConfigNode* ConfigNode::find(const std::string& key) {
  return const_cast<ConfigNode*>(static_cast<const ConfigNode*>(this)->find(key));
}

ConfigNode& ConfigNode::field(const std::string& key) {
  if (ConfigNode* existing = find(key)) return *existing;
  fields.emplace_back(key, ConfigNode{});
  return fields.back().second;
}

void ConfigNode::erase(const std::string& key) {
  fields.erase(std::remove_if(fields.begin(), fields.end(),
                              [&](const auto& entry) { return entry.first == key; }),
               fields.end());
}

const char* describe(ConfigNode::Kind kind) {
  switch (kind) {
    case ConfigNode::Kind::Null: return "null";
    case ConfigNode::Kind::Bool: return "a boolean (true/false)";
    case ConfigNode::Kind::Int: return "an integer";
    case ConfigNode::Kind::Float: return "a number";
    case ConfigNode::Kind::String: return "a string";
    case ConfigNode::Kind::List: return "a list";
    case ConfigNode::Kind::Map: return "a map";
  }
  return "?";
}

ConfigNode::Kind classify_plain_scalar(const std::string& text) {
  using Kind = ConfigNode::Kind;
  static const std::regex null_re("~|null|Null|NULL");
  static const std::regex bool_re("true|True|TRUE|false|False|FALSE");
  static const std::regex int_re("[-+]?[0-9]+");
  static const std::regex float_re(
      "[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  if (text.empty() || std::regex_match(text, null_re)) return Kind::Null;
  if (std::regex_match(text, bool_re)) return Kind::Bool;
  if (std::regex_match(text, int_re)) return Kind::Int;
  if (std::regex_match(text, float_re)) return Kind::Float;
  return Kind::String;
}

std::string preview(const ConfigNode& node) {
  switch (node.kind) {
    case ConfigNode::Kind::List: return "a list";
    case ConfigNode::Kind::Map: return "a map";
    case ConfigNode::Kind::Null: return "null";
    default: return "'" + node.text + "'";
  }
}

namespace {
void collect_paths(const ConfigNode& node, const std::string& prefix,
                   std::vector<std::string>& out) {
  if (node.kind != ConfigNode::Kind::Map) return;
  for (const auto& [name, value] : node.fields) {
    std::string path = prefix.empty() ? name : prefix + "." + name;
    out.push_back(path);
    collect_paths(value, path, out);
  }
}
}  // namespace

std::vector<std::string> all_key_paths(const ConfigNode& root) {
  std::vector<std::string> paths;
  collect_paths(root, "", paths);
  return paths;
}

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::string::size_type start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw ConfigError("malformed config key '" + key + "': empty part");
    parts.push_back(std::move(part));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

}  // namespace rsd::detail
