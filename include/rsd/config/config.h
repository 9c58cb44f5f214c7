// rsd::Config: YAML configs with `_base_` inheritance, strict keys, typed command-line overrides.
//
//   # configs/exp.yaml
//   _base_: [common.yaml]           # paths relative to this file; later bases win; maps merge
//   model:                          # deeply, lists and scalars are replaced
//     bev: {channels: 128}
//
//   auto cfg = rsd::Config::load("configs/exp.yaml", {"train.lr=2e-4"});
//   int64_t channels = cfg.get<int64_t>("model.bev.channels");
//
// Strictness: by default every config is checked against the built-in defaults (the files in
// configs/base/, compiled into the library), which define every valid key, its type and its
// default value. A key they do not define is an error naming the key path, the file and line it
// came from and the closest valid key; a value of the wrong type is an error too. Overrides
// (`--set a.b=v`) are typed by the value they replace. A map holding `_delete_: true` replaces the
// map it overrides instead of merging into it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rsd {

namespace detail {
struct ConfigNode;
}

struct ConfigLoadOptions {
  /// Merge over the built-in defaults and reject keys they do not define. Without them (for
  /// projects that use rsd::Config for configs of their own), files without `_base_` define the
  /// valid keys and files with `_base_` may only set keys their bases define.
  bool use_defaults = true;
};

class Config {
 public:
  /// An empty config (a map without keys).
  Config();

  /// Loads `path`, resolves its `_base_` chain, checks it, then applies `overrides` ("a.b=v").
  /// Throws rsd::ConfigError naming the file (and line) or key at fault.
  static Config load(const std::string& path, const std::vector<std::string>& overrides = {},
                     const ConfigLoadOptions& options = {});

  /// Like load() for YAML text; `origin` names it in messages and `_base_` paths are relative to
  /// the current directory.
  static Config parse(const std::string& yaml_text, const std::string& origin = "<string>",
                      const ConfigLoadOptions& options = {});

  /// The built-in defaults (configs/base/default.yaml and the sections it includes).
  static Config defaults();

  /// Applies one command-line override "a.b.c=value". The value is read as YAML and must have the
  /// type of the value it replaces (an integer may replace a number, anything may replace null).
  void apply_override(const std::string& assignment);

  /// Sets `key` to the YAML value `value_yaml` with the same rules as apply_override.
  void set(const std::string& key, const std::string& value_yaml,
           const std::string& origin = "<code>");

  /// True when `key` (dotted path relative to this view) exists; a null value exists.
  bool has(const std::string& key) const;

  /// True when `key` exists and is not null.
  bool has_value(const std::string& key) const;

  /// A view of the map at `key`; keys of the view are relative to it and messages use full paths.
  /// Views share the tree with the config they come from.
  Config section(const std::string& key) const;

  /// The keys of this view's map, in file order.
  std::vector<std::string> keys() const;

  /// Typed getters. T is one of bool, int, int64_t, float, double, std::string, or a std::vector
  /// of int, int64_t, float, double, std::string. Throws ConfigError when the key is missing, null
  /// or of another type, naming the key and where its value was set.
  template <typename T>
  T get(const std::string& key) const;

  /// Like get(), but returns `fallback` when the key is missing or null.
  template <typename T>
  T get_or(const std::string& key, T fallback) const {
    return has_value(key) ? get<T>(key) : fallback;
  }

  /// "file:line" that set the value at `key` ("--set" for overrides, "defaults:file:line").
  std::string origin(const std::string& key) const;

  /// The full dotted path of this view ("" for the root).
  const std::string& prefix() const { return prefix_; }

  /// The resolved config as YAML; loading it again gives an equal config.
  std::string to_yaml() const;

  /// Writes to_yaml() to `path` atomically (temporary file, then rename).
  void save(const std::string& path) const;

  /// A deep copy that no longer shares its tree with this config.
  Config clone() const;

  /// The config files this config was loaded from, outermost first.
  const std::vector<std::string>& source_files() const;

 private:
  struct State;
  Config(std::shared_ptr<State> state, std::string prefix);
  // Fills this config from the defaults (per `options`) and the overlay `resolve_overlay` returns.
  template <typename ResolveOverlay>
  void resolve(const ConfigLoadOptions& options, ResolveOverlay&& resolve_overlay);
  const detail::ConfigNode& node_at(const std::string& key) const;
  std::string full_key(const std::string& key) const;

  std::shared_ptr<State> state_;
  std::string prefix_;
};

template <> bool Config::get<bool>(const std::string& key) const;
template <> int Config::get<int>(const std::string& key) const;
template <> int64_t Config::get<int64_t>(const std::string& key) const;
template <> float Config::get<float>(const std::string& key) const;
template <> double Config::get<double>(const std::string& key) const;
template <> std::string Config::get<std::string>(const std::string& key) const;
template <> std::vector<int> Config::get<std::vector<int>>(const std::string& key) const;
template <> std::vector<int64_t> Config::get<std::vector<int64_t>>(const std::string& key) const;
template <> std::vector<float> Config::get<std::vector<float>>(const std::string& key) const;
template <> std::vector<double> Config::get<std::vector<double>>(const std::string& key) const;
template <> std::vector<std::string> Config::get<std::vector<std::string>>(
    const std::string& key) const;

}  // namespace rsd
