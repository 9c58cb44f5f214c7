#include "rsd/config/config_checks.h"

#include <cstdint>
#include <sstream>

#include "rsd/util/error.h"

namespace rsd {
namespace {

template <typename T>
std::string text(T value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

void reject_config_value(const Config& config, const std::string& key, const std::string& why) {
  const std::string full = config.prefix().empty() ? key : config.prefix() + "." + key;
  throw ConfigError("config key '" + full + "' (set in " + config.origin(key) + "): " + why);
}

template <typename T>
T require_positive(const Config& config, const std::string& key) {
  const T value = config.get<T>(key);
  if (!(value > T(0))) reject_config_value(config, key, "must be positive, got " + text(value));
  return value;
}

template <typename T>
T require_non_negative(const Config& config, const std::string& key) {
  const T value = config.get<T>(key);
  if (!(value >= T(0))) reject_config_value(config, key, "must be >= 0, got " + text(value));
  return value;
}

template <typename T>
T require_at_least(const Config& config, const std::string& key, T least) {
  const T value = config.get<T>(key);
  if (!(value >= least)) {
    reject_config_value(config, key, "must be >= " + text(least) + ", got " + text(value));
  }
  return value;
}

#define RSD_INSTANTIATE_CONFIG_CHECKS(T)                                   \
  template T require_positive<T>(const Config&, const std::string&);       \
  template T require_non_negative<T>(const Config&, const std::string&);   \
  template T require_at_least<T>(const Config&, const std::string&, T);
RSD_INSTANTIATE_CONFIG_CHECKS(int)
RSD_INSTANTIATE_CONFIG_CHECKS(int64_t)
RSD_INSTANTIATE_CONFIG_CHECKS(double)
#undef RSD_INSTANTIATE_CONFIG_CHECKS

}  // namespace rsd
