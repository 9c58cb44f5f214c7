#include "rsd/eval/metric_set.h"

#include <algorithm>
#include <cstdio>

#include "rsd/util/error.h"

namespace rsd::eval {

void MetricSet::set(const std::string& name, double value) {
  RSD_CHECK(!name.empty() && name.front() != '/' && name.back() != '/',
            "metric names are '/'-separated paths without empty parts: '", name, "'");
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& entry) { return entry.first == name; });
  if (it != entries_.end()) {
    it->second = value;
  } else {
    entries_.emplace_back(name, value);
  }
}

void MetricSet::merge(const MetricSet& other) {
  for (const Entry& entry : other.entries_) set(entry.first, entry.second);
}

bool MetricSet::contains(const std::string& name) const { return find(name).has_value(); }

std::optional<double> MetricSet::find(const std::string& name) const {
  for (const Entry& entry : entries_) {
    if (entry.first == name) return entry.second;
  }
  return std::nullopt;
}

double MetricSet::get(const std::string& name) const {
  const std::optional<double> value = find(name);
  if (!value) throw Error("metric '" + name + "' was not computed");
  return *value;
}

std::string format_quantity(double value, const std::string& unit) {
  // %g drops trailing zeros: 1.0 -> "1", 0.5 -> "0.5".
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return std::string(text) + unit;
}

}  // namespace rsd::eval
