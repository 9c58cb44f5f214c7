// rsd::Registry: string-keyed factories for pluggable components (RiskHead variants, planners,
// teachers), picked by a config's `type:` string.
//
//   rsd::Registry<std::shared_ptr<Base>, const Options&> registry("risk head");
//   registry.add("mine", [](const Options& o) { return std::make_shared<Mine>(o); });
//   auto head = registry.create("mine", options);
//
// Built-in entries are added by one explicit function that the accessor of each registry calls on
// first use (see rsd::model::risk_heads()), never by static initialisers: a static librsd.a drops
// self-registering objects that nothing references.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "rsd/util/error.h"

namespace rsd {

template <typename Product, typename... Args>
class Registry {
 public:
  using Factory = std::function<Product(Args...)>;

  /// `kind` names the registry in messages ("risk head").
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Registers `factory` under `type`. Throws rsd::Error when `type` is empty, already registered
  /// or `factory` is empty.
  void add(const std::string& type, Factory factory) {
    RSD_CHECK(!type.empty(), "a ", kind_, " type needs a name");
    RSD_CHECK(static_cast<bool>(factory), "the ", kind_, " type '", type, "' has no factory");
    std::lock_guard<std::mutex> lock(mutex_);
    if (factories_.count(type) != 0) {
      throw Error(kind_ + " type '" + type + "' is already registered");
    }
    factories_.emplace(type, std::move(factory));
  }

  bool contains(const std::string& type) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return factories_.count(type) != 0;
  }

  /// The registered types, sorted.
  std::vector<std::string> types() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> names;
    names.reserve(factories_.size());
    for (const auto& entry : factories_) names.push_back(entry.first);
    return names;
  }

  /// Calls the factory of `type`. Throws rsd::ConfigError (the type comes from a config) naming
  /// the unknown type and listing the known ones.
  Product create(const std::string& type, Args... args) const {
    Factory factory;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto found = factories_.find(type);
      if (found == factories_.end()) {
        std::string known;
        for (const auto& entry : factories_) known += (known.empty() ? "" : ", ") + entry.first;
        throw ConfigError("unknown " + kind_ + " type '" + type + "'; known types: " +
                          (known.empty() ? std::string("(none)") : known));
      }
      factory = found->second;
    }
    // Outside the lock: a factory may itself consult the registry.
    return factory(std::forward<Args>(args)...);
  }

  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  mutable std::mutex mutex_;
  std::map<std::string, Factory> factories_;
};

}  // namespace rsd
