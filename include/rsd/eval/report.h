// The files an evaluation leaves behind, and their comparison:
//   metrics.json  {"info": {...}, "metrics": {...}}: the MetricSet nested by the '/' parts of its
//                 names, undefined values as null;
//   report.md     the same as Markdown tables (planning per group, detection per class, risk),
//                 the run's details and links to the pictures.
// compare_reports() reads two such folders and writes one side-by-side table (e.g. RiskHead off
// against on).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "rsd/eval/metric_set.h"

namespace rsd::eval {

struct ReportInfo {
  std::string title = "Evaluation";
  std::vector<std::pair<std::string, std::string>> details;  // e.g. {"checkpoint", path}, in order
  std::vector<std::string> pictures;  // PNG paths (made relative to the folder)
};

/// Writes metrics.json and report.md into `directory` (created when missing), each atomically.
/// Throws rsd::Error naming the file on failure, or naming the metric whose name is both a value
/// and a prefix of another name (which JSON nesting cannot hold).
void write_report(const std::string& directory, const MetricSet& metrics, const ReportInfo& info);

/// report.md's text for `metrics` (what write_report writes).
std::string markdown_report(const MetricSet& metrics, const ReportInfo& info);

/// The metrics of a metrics.json file, or of the metrics.json inside a folder, in file order
/// (null read as NaN). Throws rsd::DataError naming the file when it is missing or malformed.
MetricSet read_metrics(const std::string& path);

/// A Markdown table: one row per metric of `a` (then those only in `b`), columns name_a, name_b
/// and the difference b - a; "-" where a side lacks a value.
std::string comparison_table(const MetricSet& a, const MetricSet& b, const std::string& name_a,
                             const std::string& name_b);

/// Reads the metrics of two evaluation folders (or metrics.json files), builds their comparison
/// table, writes it to `out_path` unless that is empty, and returns it.
std::string compare_reports(const std::string& path_a, const std::string& path_b,
                            const std::string& out_path = "");

}  // namespace rsd::eval
