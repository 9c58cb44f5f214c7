#include "rsd/config/config.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "config/config_node.h"
#include "config/string_distance.h"
#include "config/yaml_io.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"

namespace rsd {

namespace detail {
const std::map<std::string, std::string>& embedded_default_configs();  // generated
}

using detail::ConfigNode;
using Kind = detail::ConfigNode::Kind;

struct Config::State {
  ConfigNode root = ConfigNode::map();
  std::vector<std::string> sources;
};

namespace {

constexpr const char* kBaseKey = "_base_";
constexpr const char* kDeleteKey = "_delete_";
constexpr const char* kEmbeddedPrefix = "configs/base/";  // how built-in files are named

std::string join_key(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// The valid key a misspelled one most likely meant: among the keys of its parent map when that
// exists (so "train.learning_rate" suggests a key of `train`), otherwise among all key paths.
std::string closest_valid_key(const std::string& key, const ConfigNode& valid_root) {
  const auto parts = detail::split_key(key);
  const ConfigNode* parent = &valid_root;
  std::string parent_path;
  for (std::size_t i = 0; i + 1 < parts.size() && parent != nullptr; ++i) {
    parent = parent->kind == Kind::Map ? parent->find(parts[i]) : nullptr;
    parent_path = join_key(parent_path, parts[i]);
  }
  std::vector<std::string> candidates;
  if (parent != nullptr && parent->kind == Kind::Map && !parent->fields.empty()) {
    for (const auto& entry : parent->fields) candidates.push_back(join_key(parent_path, entry.first));
  } else {
    candidates = detail::all_key_paths(valid_root);
  }
  return detail::closest_match(key, candidates);
}

[[noreturn]] void throw_unknown_key(const std::string& key, const std::string& origin,
                                    const ConfigNode& valid_root) {
  std::string message = "unknown config key '" + key + "'";
  if (!origin.empty()) message += " (set in " + origin + ")";
  const std::string closest = closest_valid_key(key, valid_root);
  if (!closest.empty()) message += "; closest valid key: '" + closest + "'";
  throw ConfigError(message);
}

bool kinds_compatible(Kind existing, Kind incoming) {
  if (existing == Kind::Null || incoming == Kind::Null || existing == incoming) return true;
  if (existing == Kind::Float && incoming == Kind::Int) return true;
  if (existing == Kind::String && incoming != Kind::List && incoming != Kind::Map) return true;
  return false;
}

void check_compatible(const ConfigNode& existing, const ConfigNode& incoming,
                      const std::string& key) {
  if (kinds_compatible(existing.kind, incoming.kind)) return;
  throw ConfigError("config key '" + key + "' (set in " + incoming.origin + ") must be " +
                    detail::describe(existing.kind) + " like the value it overrides (" +
                    detail::preview(existing) + " from " + existing.origin + "), got " +
                    detail::preview(incoming));
}

bool has_delete_flag(const ConfigNode& node) {
  if (node.kind != Kind::Map) return false;
  const ConfigNode* flag = node.find(kDeleteKey);
  if (flag == nullptr) return false;
  if (flag->kind != Kind::Bool) {
    throw ConfigError(flag->origin + ": '_delete_' must be true or false");
  }
  return flag->text[0] == 't' || flag->text[0] == 'T';
}

// Checks that every key of `incoming` exists in `reference` with a compatible type.
void check_keys(const ConfigNode& incoming, const ConfigNode& reference, const std::string& prefix,
                const ConfigNode& reference_root) {
  for (const auto& [name, value] : incoming.fields) {
    if (name == kDeleteKey) {
      has_delete_flag(incoming);  // validates the flag's type
      continue;
    }
    const std::string key = join_key(prefix, name);
    const ConfigNode* existing = reference.find(name);
    if (existing == nullptr) throw_unknown_key(key, value.origin, reference_root);
    check_compatible(*existing, value, key);
    if (existing->kind == Kind::Map && value.kind == Kind::Map) {
      check_keys(value, *existing, key, reference_root);
    }
  }
}

// Merges one file's keys over the keys its bases set. Both are sparse overlays, already checked;
// `_delete_` flags stay in place until the overlay meets the full tree in merge_onto_tree.
void merge_overlay(ConfigNode& accumulated, const ConfigNode& incoming) {
  for (const auto& [name, value] : incoming.fields) {
    ConfigNode* existing = accumulated.find(name);
    if (existing != nullptr && existing->kind == Kind::Map && value.kind == Kind::Map &&
        !has_delete_flag(value)) {
      merge_overlay(*existing, value);
    } else {
      accumulated.field(name) = value;
    }
  }
}

ConfigNode without_delete_flags(ConfigNode node) {
  if (node.kind == Kind::Map) {
    node.erase(kDeleteKey);
    for (auto& entry : node.fields) entry.second = without_delete_flags(std::move(entry.second));
  }
  return node;
}

// The value `incoming` takes when it replaces `existing`: the existing type wins where the two
// are compatible (an integer replacing a number is a number, a scalar replacing a string a string).
ConfigNode typed_like(const ConfigNode& existing, ConfigNode incoming) {
  if (existing.kind == Kind::Float && incoming.kind == Kind::Int) {
    incoming.kind = Kind::Float;
    incoming.text += ".0";
  } else if (existing.kind == Kind::String && incoming.is_scalar() &&
             incoming.kind != Kind::Null) {
    incoming.kind = Kind::String;
  }
  return without_delete_flags(std::move(incoming));
}

void merge_onto_tree(ConfigNode& tree, const ConfigNode& overlay) {
  for (const auto& [name, value] : overlay.fields) {
    if (name == kDeleteKey) continue;
    ConfigNode* existing = tree.find(name);
    if (existing == nullptr) {
      tree.fields.emplace_back(name, without_delete_flags(value));
    } else if (existing->kind == Kind::Map && value.kind == Kind::Map && !has_delete_flag(value)) {
      merge_onto_tree(*existing, value);
    } else {
      *existing = typed_like(*existing, value);
    }
  }
}

// Where config files come from: the file system, or the defaults compiled into the library.
class ConfigFiles {
 public:
  explicit ConfigFiles(bool embedded) : embedded_(embedded) {}

  std::string locate(const std::string& including_file, const std::string& reference) const {
    namespace fs = std::filesystem;
    if (embedded_) return kEmbeddedPrefix + fs::path(reference).filename().string();
    fs::path path(reference);
    if (path.is_relative() && !including_file.empty()) {
      path = fs::path(including_file).parent_path() / path;
    }
    return path.lexically_normal().string();
  }

  // A name that is equal for two references to the same file, to detect cycles.
  std::string identity(const std::string& located) const {
    if (embedded_) return located;
    std::error_code ec;
    const auto canonical = std::filesystem::weakly_canonical(located, ec);
    return ec ? located : canonical.string();
  }

  bool read(const std::string& located, std::string& text) const {
    if (embedded_) {
      const auto& files = detail::embedded_default_configs();
      const auto found = files.find(located.substr(std::string(kEmbeddedPrefix).size()));
      if (found == files.end()) return false;
      text = found->second;
      return true;
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(located, ec)) return false;
    text = read_file(located);
    return true;
  }

 private:
  bool embedded_;
};

std::vector<std::string> take_bases(ConfigNode& node) {
  std::vector<std::string> bases;
  const ConfigNode* value = node.find(kBaseKey);
  if (value == nullptr) return bases;
  auto add = [&](const ConfigNode& item) {
    if (item.kind != Kind::String || item.text.empty()) {
      throw ConfigError(item.origin + ": '_base_' must be a file path or a list of file paths");
    }
    bases.push_back(item.text);
  };
  if (value->kind == Kind::List) {
    for (const auto& item : value->items) add(item);
  } else {
    add(*value);
  }
  node.erase(kBaseKey);
  return bases;
}

// Resolves the `_base_` chain of one file into the sparse set of keys it and its bases set.
class ConfigResolver {
 public:
  ConfigResolver(const ConfigFiles& files, const ConfigNode* schema)
      : files_(files), schema_(schema) {}

  ConfigNode resolve_file(const std::string& located, const std::string& included_from) {
    std::string text;
    if (!files_.read(located, text)) {
      std::string message = "config file not found: " + located;
      if (!included_from.empty()) message += " (a _base_ of " + included_from + ")";
      throw ConfigError(message);
    }
    return resolve_text(text, located);
  }

  ConfigNode resolve_text(const std::string& text, const std::string& name) {
    const std::string identity = files_.identity(name);
    for (std::size_t i = 0; i < chain_.size(); ++i) {
      if (chain_[i].first != identity) continue;
      std::string cycle;
      for (std::size_t j = i; j < chain_.size(); ++j) cycle += chain_[j].second + " -> ";
      throw ConfigError("cyclic _base_: " + cycle + name);
    }
    ConfigNode node = detail::parse_yaml(text, name);
    const std::vector<std::string> bases = take_bases(node);
    sources_.push_back(name);
    chain_.emplace_back(identity, name);

    ConfigNode accumulated = ConfigNode::map(name);
    for (const auto& base : bases) {
      merge_overlay(accumulated, resolve_file(files_.locate(name, base), name));
    }
    // With a schema every key must exist there; without one, a file with bases may only set keys
    // its bases define, and a file without bases defines its own.
    const ConfigNode* reference = schema_ != nullptr ? schema_ : (bases.empty() ? nullptr : &accumulated);
    if (reference != nullptr) check_keys(node, *reference, "", *reference);
    merge_overlay(accumulated, node);

    chain_.pop_back();
    return accumulated;
  }

  const std::vector<std::string>& sources() const { return sources_; }

 private:
  const ConfigFiles& files_;
  const ConfigNode* schema_;
  std::vector<std::pair<std::string, std::string>> chain_;  // (identity, name) being resolved
  std::vector<std::string> sources_;
};

const ConfigNode& default_tree() {
  static const ConfigNode tree = [] {
    const ConfigFiles files(/*embedded=*/true);
    ConfigResolver resolver(files, nullptr);
    ConfigNode root = ConfigNode::map();
    merge_onto_tree(root, resolver.resolve_file(files.locate("", "default.yaml"), ""));
    return root;
  }();
  return tree;
}

ConfigNode parse_value(const std::string& value_yaml, const std::string& origin) {
  // Parsed as the value of a one-key map so that the YAML reader does the typing.
  ConfigNode wrapper = detail::parse_yaml("value: " + value_yaml, origin);
  ConfigNode value = *wrapper.find("value");
  value.origin = origin;
  for (auto& item : value.items) item.origin = origin;
  return value;
}

}  // namespace

Config::Config() : state_(std::make_shared<State>()) {}

Config::Config(std::shared_ptr<State> state, std::string prefix)
    : state_(std::move(state)), prefix_(std::move(prefix)) {}

Config Config::load(const std::string& path, const std::vector<std::string>& overrides,
                    const ConfigLoadOptions& options) {
  Config config;
  config.resolve(options, [&](auto& resolver, const auto& files) {
    return resolver.resolve_file(files.locate("", path), "");
  });
  for (const auto& assignment : overrides) config.apply_override(assignment);
  return config;
}

Config Config::parse(const std::string& yaml_text, const std::string& origin,
                     const ConfigLoadOptions& options) {
  Config config;
  config.resolve(options, [&](auto& resolver, const auto&) {
    return resolver.resolve_text(yaml_text, origin);
  });
  return config;
}

template <typename ResolveOverlay>
void Config::resolve(const ConfigLoadOptions& options, ResolveOverlay&& resolve_overlay) {
  const ConfigFiles files(/*embedded=*/false);
  const ConfigNode* schema = options.use_defaults ? &default_tree() : nullptr;
  ConfigResolver resolver(files, schema);
  const ConfigNode overlay = resolve_overlay(resolver, files);
  state_->root = schema != nullptr ? *schema : ConfigNode::map();
  merge_onto_tree(state_->root, overlay);
  state_->sources = resolver.sources();
}

Config Config::defaults() {
  Config config;
  config.state_->root = default_tree();
  config.state_->sources = {std::string(kEmbeddedPrefix) + "default.yaml"};
  return config;
}

void Config::apply_override(const std::string& assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ConfigError("override '" + assignment + "' must look like key.path=value");
  }
  const std::string key = assignment.substr(0, equals);
  set(key, assignment.substr(equals + 1), "--set " + assignment);
}

void Config::set(const std::string& key, const std::string& value_yaml, const std::string& origin) {
  const std::string full = full_key(key);
  const auto parts = detail::split_key(full);
  ConfigNode* node = &state_->root;
  std::string walked;
  for (const auto& part : parts) {
    walked = join_key(walked, part);
    ConfigNode* child = node->kind == Kind::Map ? node->find(part) : nullptr;
    if (child == nullptr) throw_unknown_key(full, origin, state_->root);
    node = child;
  }
  const ConfigNode value = parse_value(value_yaml, origin);
  check_compatible(*node, value, full);
  if (node->kind == Kind::Map && value.kind == Kind::Map && !has_delete_flag(value)) {
    check_keys(value, *node, full, state_->root);
    merge_onto_tree(*node, value);
  } else {
    if (node->kind == Kind::Map && value.kind == Kind::Map) check_keys(value, *node, full, state_->root);
    *node = typed_like(*node, value);
  }
}

std::string Config::full_key(const std::string& key) const {
  return key.empty() ? prefix_ : join_key(prefix_, key);
}

const ConfigNode& Config::node_at(const std::string& key) const {
  const std::string full = full_key(key);
  const ConfigNode* node = &state_->root;
  for (const auto& part : detail::split_key(full)) {
    const ConfigNode* child = node->kind == Kind::Map ? node->find(part) : nullptr;
    if (child == nullptr) {
      std::string message = "config has no key '" + full + "'";
      const std::string closest = closest_valid_key(full, state_->root);
      if (!closest.empty()) message += "; closest valid key: '" + closest + "'";
      throw ConfigError(message);
    }
    node = child;
  }
  return *node;
}

bool Config::has(const std::string& key) const {
  const ConfigNode* node = &state_->root;
  for (const auto& part : detail::split_key(full_key(key))) {
    node = node->kind == Kind::Map ? node->find(part) : nullptr;
    if (node == nullptr) return false;
  }
  return true;
}

bool Config::has_value(const std::string& key) const {
  return has(key) && node_at(key).kind != Kind::Null;
}

Config Config::section(const std::string& key) const {
  const ConfigNode& node = node_at(key);
  if (node.kind != Kind::Map) {
    throw ConfigError("config key '" + full_key(key) + "' (set in " + node.origin +
                      ") must be a map of keys, got " + detail::preview(node));
  }
  return Config(state_, full_key(key));
}

std::vector<std::string> Config::keys() const {
  const ConfigNode& node = prefix_.empty() ? state_->root : node_at("");
  std::vector<std::string> names;
  for (const auto& entry : node.fields) names.push_back(entry.first);
  return names;
}

std::string Config::origin(const std::string& key) const { return node_at(key).origin; }

std::string Config::to_yaml() const {
  return detail::emit_yaml(prefix_.empty() ? state_->root : node_at(""));
}

void Config::save(const std::string& path) const { write_file_atomic(path, to_yaml()); }

Config Config::clone() const {
  Config copy;
  copy.state_ = std::make_shared<State>(*state_);
  copy.prefix_ = prefix_;
  return copy;
}

const std::vector<std::string>& Config::source_files() const { return state_->sources; }

// ---- typed getters ----------------------------------------------------------------------------

namespace {

[[noreturn]] void throw_type(const ConfigNode& node, const std::string& key, const char* expected) {
  throw ConfigError("config key '" + key + "' (set in " + node.origin + ") must be " + expected +
                    ", got " + detail::preview(node));
}

bool to_bool(const ConfigNode& node, const std::string& key) {
  if (node.kind != Kind::Bool) throw_type(node, key, "a boolean (true/false)");
  return node.text[0] == 't' || node.text[0] == 'T';
}

int64_t to_int64(const ConfigNode& node, const std::string& key) {
  if (node.kind != Kind::Int) throw_type(node, key, "an integer");
  try {
    return std::stoll(node.text);
  } catch (const std::exception&) {
    throw_type(node, key, "an integer that fits in 64 bits");
  }
}

int to_int(const ConfigNode& node, const std::string& key) {
  const int64_t value = to_int64(node, key);
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    throw_type(node, key, "an integer that fits in 32 bits");
  }
  return static_cast<int>(value);
}

double to_double(const ConfigNode& node, const std::string& key) {
  if (node.kind != Kind::Float && node.kind != Kind::Int) throw_type(node, key, "a number");
  std::string text = node.text;
  const bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) text = text.substr(1);
  if (text == ".inf" || text == ".Inf" || text == ".INF") {
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (text == ".nan" || text == ".NaN" || text == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  try {
    return std::stod(node.text);
  } catch (const std::exception&) {
    throw_type(node, key, "a number within double range");
  }
}

std::string to_string(const ConfigNode& node, const std::string& key) {
  if (!node.is_scalar() || node.kind == Kind::Null) throw_type(node, key, "a string");
  return node.text;
}

template <typename T, typename Convert>
std::vector<T> to_list(const ConfigNode& node, const std::string& key, Convert convert) {
  if (node.kind != Kind::List) throw_type(node, key, "a list");
  std::vector<T> values;
  for (std::size_t i = 0; i < node.items.size(); ++i) {
    values.push_back(static_cast<T>(convert(node.items[i], key + "[" + std::to_string(i) + "]")));
  }
  return values;
}

}  // namespace

template <> bool Config::get<bool>(const std::string& key) const {
  return to_bool(node_at(key), full_key(key));
}
template <> int Config::get<int>(const std::string& key) const {
  return to_int(node_at(key), full_key(key));
}
template <> int64_t Config::get<int64_t>(const std::string& key) const {
  return to_int64(node_at(key), full_key(key));
}
template <> float Config::get<float>(const std::string& key) const {
  return static_cast<float>(to_double(node_at(key), full_key(key)));
}
template <> double Config::get<double>(const std::string& key) const {
  return to_double(node_at(key), full_key(key));
}
template <> std::string Config::get<std::string>(const std::string& key) const {
  return to_string(node_at(key), full_key(key));
}
template <> std::vector<int> Config::get<std::vector<int>>(const std::string& key) const {
  return to_list<int>(node_at(key), full_key(key), to_int);
}
template <> std::vector<int64_t> Config::get<std::vector<int64_t>>(const std::string& key) const {
  return to_list<int64_t>(node_at(key), full_key(key), to_int64);
}
template <> std::vector<float> Config::get<std::vector<float>>(const std::string& key) const {
  return to_list<float>(node_at(key), full_key(key), to_double);
}
template <> std::vector<double> Config::get<std::vector<double>>(const std::string& key) const {
  return to_list<double>(node_at(key), full_key(key), to_double);
}
template <> std::vector<std::string> Config::get<std::vector<std::string>>(
    const std::string& key) const {
  return to_list<std::string>(node_at(key), full_key(key), to_string);
}

}  // namespace rsd
