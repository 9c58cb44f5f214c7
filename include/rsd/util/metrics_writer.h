// metrics.jsonl: one JSON object per line, flushed per line so that a killed run keeps every line
// it wrote. Keys follow mmcv's log.json where they overlap (mode, iter, lr, time, data_time, loss*),
// so existing log analysis tools read it. Non-finite numbers (a NaN loss) are written as null.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace rsd {

using MetricValue = std::variant<bool, int64_t, double, std::string>;

/// The fields of one line, in insertion order.
class MetricsRecord {
 public:
  template <typename T>
  MetricsRecord& add(const std::string& key, const T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      fields_.emplace_back(key, value);
    } else if constexpr (std::is_integral_v<T>) {
      fields_.emplace_back(key, static_cast<int64_t>(value));
    } else if constexpr (std::is_floating_point_v<T>) {
      fields_.emplace_back(key, static_cast<double>(value));
    } else {
      fields_.emplace_back(key, std::string(value));
    }
    return *this;
  }
  const std::vector<std::pair<std::string, MetricValue>>& fields() const { return fields_; }
  /// The line as compact JSON (no trailing newline).
  std::string to_json() const;

 private:
  std::vector<std::pair<std::string, MetricValue>> fields_;
};

class MetricsWriter {
 public:
  /// Opens `path` for appending (a resumed run continues its file) or truncates it.
  explicit MetricsWriter(const std::string& path, bool append = true);
  void write(const MetricsRecord& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace rsd
