#include "config/yaml_io.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include "rsd/util/error.h"

namespace rsd::detail {
namespace {

std::string where(const std::string& file, const YAML::Mark& mark) {
  return mark.is_null() ? file : file + ":" + std::to_string(mark.line + 1);
}

// yaml-cpp keeps an alias as a second reference to its anchor's node, so a kilobyte of nested
// aliases is a graph that expands into billions of values, and an alias inside its own anchor
// (`a: &a [*a]`) is a cycle. The tree we build is the expansion: it is bounded while it is built.
struct ExpansionBudget {
  const std::string& file;
  std::size_t nodes_left = kMaxConfigNodesPerFile;
};

ConfigNode convert(const YAML::Node& yaml, ExpansionBudget& budget, int depth) {
  const std::string& file = budget.file;
  if (budget.nodes_left == 0) {
    throw ConfigError(where(file, yaml.Mark()) + ": the file expands to more than " +
                      std::to_string(kMaxConfigNodesPerFile) +
                      " values (aliases of aliases?); such a config is refused");
  }
  --budget.nodes_left;
  if (depth > kMaxConfigDepth) {
    throw ConfigError(where(file, yaml.Mark()) + ": values nested more than " +
                      std::to_string(kMaxConfigDepth) +
                      " levels deep (an alias inside its own anchor?); such a config is refused");
  }
  ConfigNode node;
  node.origin = where(file, yaml.Mark());
  switch (yaml.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      node.kind = ConfigNode::Kind::Null;
      break;
    case YAML::NodeType::Scalar:
      node.text = yaml.Scalar();
      // Quoted scalars carry the tag "!" and are strings whatever they look like.
      node.kind = yaml.Tag() == "!" ? ConfigNode::Kind::String : classify_plain_scalar(node.text);
      break;
    case YAML::NodeType::Sequence:
      node.kind = ConfigNode::Kind::List;
      for (const auto& item : yaml) node.items.push_back(convert(item, budget, depth + 1));
      break;
    case YAML::NodeType::Map:
      node.kind = ConfigNode::Kind::Map;
      for (const auto& entry : yaml) {
        const std::string key = entry.first.Scalar();
        const std::string at = where(file, entry.first.Mark());
        if (!entry.first.IsScalar() || key.empty()) {
          throw ConfigError(at + ": config keys must be non-empty plain names");
        }
        if (key.find('.') != std::string::npos) {
          throw ConfigError(at + ": config key '" + key +
                            "' contains '.', which separates key paths; nest maps instead");
        }
        if (node.find(key) != nullptr) {
          throw ConfigError(at + ": duplicate config key '" + key + "'");
        }
        node.fields.emplace_back(key, convert(entry.second, budget, depth + 1));
      }
      break;
  }
  return node;
}

void emit(YAML::Emitter& out, const ConfigNode& node) {
  switch (node.kind) {
    case ConfigNode::Kind::Null:
      out << YAML::Null;
      break;
    case ConfigNode::Kind::String:
      // A string that would read back as another type (or null) is written quoted.
      if (classify_plain_scalar(node.text) != ConfigNode::Kind::String) {
        out << YAML::DoubleQuoted << node.text;
      } else {
        out << node.text;
      }
      break;
    case ConfigNode::Kind::Bool:
    case ConfigNode::Kind::Int:
    case ConfigNode::Kind::Float:
      out << node.text;
      break;
    case ConfigNode::Kind::List: {
      bool all_scalars = true;
      for (const auto& item : node.items) all_scalars = all_scalars && item.is_scalar();
      if (all_scalars) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& item : node.items) emit(out, item);
      out << YAML::EndSeq;
      break;
    }
    case ConfigNode::Kind::Map:
      if (node.fields.empty()) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& [key, value] : node.fields) {
        out << YAML::Key << key << YAML::Value;
        emit(out, value);
      }
      out << YAML::EndMap;
      break;
  }
}

}  // namespace

ConfigNode parse_yaml(const std::string& text, const std::string& file) {
  YAML::Node yaml;
  try {
    yaml = YAML::Load(text);
  } catch (const YAML::DeepRecursion& error) {
    // Its own message is "bad file".
    throw ConfigError(file + ":" + std::to_string(error.mark.line + 1) + ":" +
                      std::to_string(error.mark.column + 1) +
                      ": malformed YAML: values nested too deeply for the YAML reader");
  } catch (const YAML::ParserException& error) {
    throw ConfigError(file + ":" + std::to_string(error.mark.line + 1) + ":" +
                      std::to_string(error.mark.column + 1) + ": malformed YAML: " + error.msg);
  }
  ExpansionBudget budget{file};
  ConfigNode root = convert(yaml, budget, 0);
  if (root.kind == ConfigNode::Kind::Null) return ConfigNode::map(file);  // an empty file
  if (root.kind != ConfigNode::Kind::Map) {
    throw ConfigError(file + ": a config file must hold a map of keys at its top level, not " +
                      std::string(describe(root.kind)));
  }
  return root;
}

std::string emit_yaml(const ConfigNode& node) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, node);
  std::string text = out.c_str();
  text += "\n";
  return text;
}

}  // namespace rsd::detail
