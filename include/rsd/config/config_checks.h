// Checked reads of config values for options converters (`foo_options_from(config)`): a value out
// of range is refused with the full key, the file and line it was set at, and why.
//
//   const rsd::Config section = config.section("model.lift");
//   options.context_channels = rsd::require_positive<int64_t>(section, "context_channels");
//   // -> config key 'model.lift.context_channels' (set in my.yaml:12): must be positive, got 0
#pragma once

#include <initializer_list>
#include <string>
#include <utility>

#include "rsd/config/config.h"

namespace rsd {

/// Throws rsd::ConfigError: "config key '<prefix>.<key>' (set in <origin>): <why>".
[[noreturn]] void reject_config_value(const Config& config, const std::string& key,
                                      const std::string& why);

/// The value at `key`, refused unless > 0. T: int, int64_t or double.
template <typename T>
T require_positive(const Config& config, const std::string& key);
/// The value at `key`, refused unless >= 0.
template <typename T>
T require_non_negative(const Config& config, const std::string& key);
/// The value at `key`, refused unless >= least.
template <typename T>
T require_at_least(const Config& config, const std::string& key, T least);

/// The enum value named by the string at `key`; the error lists the valid names.
template <typename Enum>
Enum require_choice(const Config& config, const std::string& key,
                    std::initializer_list<std::pair<const char*, Enum>> values) {
  const auto value = config.get<std::string>(key);
  std::string names;
  for (const auto& [name, option] : values) {
    if (value == name) return option;
    names += (names.empty() ? "" : " | ") + std::string(name);
  }
  reject_config_value(config, key, "must be one of " + names + ", got '" + value + "'");
}

}  // namespace rsd
