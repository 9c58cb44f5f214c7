// MetricSet: the evaluation's results as an ordered list of named numbers. Names are paths whose
// parts are separated by '/' ("planning/all/l2/1s"); metrics.json nests them by those parts, and
// the report and the comparison table read them back by name. An undefined metric (no frame, no
// ground truth of a class) is NaN and is written to JSON as null.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rsd::eval {

class MetricSet {
 public:
  using Entry = std::pair<std::string, double>;

  /// Appends `name` = `value`; a name already present is overwritten in place (keeps its position).
  void set(const std::string& name, double value);
  /// Appends every entry of `other` (overwriting names already present).
  void merge(const MetricSet& other);

  bool contains(const std::string& name) const;
  /// The value of `name`; throws rsd::Error naming it when absent.
  double get(const std::string& name) const;
  /// The value of `name`, or nullopt when absent.
  std::optional<double> find(const std::string& name) const;

  const std::vector<Entry>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<Entry> entries_;
};

/// "1s", "0.5s", "2.5s": how horizons (seconds) and distances ("0.5m") appear in metric names.
std::string format_quantity(double value, const std::string& unit);

}  // namespace rsd::eval
