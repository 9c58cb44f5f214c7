#include "rsd/eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rsd/util/error.h"
#include "rsd/util/fs.h"

namespace rsd::eval {
namespace {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

constexpr const char* kMetricsFile = "metrics.json";
constexpr const char* kReportFile = "report.md";

std::vector<std::string> split_name(const std::string& name) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream stream(name);
  while (std::getline(stream, part, '/')) parts.push_back(part);
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t count) {
  std::string joined;
  for (std::size_t i = 0; i < count; ++i) joined += (i ? "/" : "") + parts[i];
  return joined;
}

Json nested_metrics(const MetricSet& metrics) {
  Json root = Json::object();
  for (const auto& [name, value] : metrics.entries()) {
    const std::vector<std::string> parts = split_name(name);
    Json* node = &root;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      if (node->contains(parts[i]) && !(*node)[parts[i]].is_object()) {
        throw Error("metric '" + join(parts, i + 1) + "' is a value and also a prefix of '" + name +
                    "': metrics.json cannot nest both");
      }
      node = &(*node)[parts[i]];
    }
    if (node->contains(parts.back()) && (*node)[parts.back()].is_object()) {
      throw Error("metric '" + name +
                  "' is a value and also a prefix of other metrics: "
                  "metrics.json cannot nest both");
    }
    (*node)[parts.back()] = std::isfinite(value) ? Json(value) : Json(nullptr);
  }
  return root;
}

void flatten(const Json& node, const std::string& prefix, const std::string& file, MetricSet& out) {
  for (const auto& [key, value] : node.items()) {
    const std::string name = prefix.empty() ? key : prefix + "/" + key;
    if (value.is_object()) {
      flatten(value, name, file, out);
    } else if (value.is_null()) {
      out.set(name, std::numeric_limits<double>::quiet_NaN());
    } else if (value.is_number()) {
      out.set(name, value.get<double>());
    } else {
      throw DataError(file + ": metric '" + name + "' is neither a number nor null");
    }
  }
}

// "0.123", "-" for NaN.
std::string number(double value, int decimals = 3) {
  if (std::isnan(value)) return "-";
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::string percent(double value) { return std::isnan(value) ? "-" : number(100.0 * value, 2); }

std::string count(double value) { return std::isnan(value) ? "-" : number(value, 0); }

double value_or_nan(const MetricSet& metrics, const std::string& name) {
  return metrics.find(name).value_or(std::numeric_limits<double>::quiet_NaN());
}

// The distinct values of the part at `index` of the names that start with `prefix` and have
// `length` parts, in order of first appearance.
std::vector<std::string> parts_at(const MetricSet& metrics, const std::string& prefix,
                                  std::size_t index, std::size_t length) {
  std::vector<std::string> found;
  for (const auto& [name, value] : metrics.entries()) {
    if (name.rfind(prefix, 0) != 0) continue;
    const std::vector<std::string> parts = split_name(name);
    if (parts.size() != length) continue;
    if (std::find(found.begin(), found.end(), parts[index]) == found.end())
      found.push_back(parts[index]);
  }
  return found;
}

void table_row(std::ostringstream& out, const std::vector<std::string>& cells) {
  out << "|";
  for (const std::string& cell : cells) out << " " << cell << " |";
  out << "\n";
}

void table_header(std::ostringstream& out, const std::vector<std::string>& titles) {
  table_row(out, titles);
  out << "|";
  for (std::size_t i = 0; i < titles.size(); ++i) out << (i == 0 ? " --- |" : " ---: |");
  out << "\n";
}

void planning_section(std::ostringstream& out, const MetricSet& metrics) {
  std::vector<std::string> groups;
  for (const auto& [name, value] : metrics.entries()) {
    const std::vector<std::string> parts = split_name(name);
    if (parts.size() == 3 && parts[0] == "planning" && parts[2] == "frames")
      groups.push_back(parts[1]);
  }
  if (groups.empty()) return;
  const std::vector<std::string> horizons = parts_at(metrics, "planning/all/l2/", 3, 4);
  out << "## Planning (open loop)\n\n"
      << "L2: distance between predicted and ground-truth ego positions, metres. *L2* is the "
         "error at that time over all frames, steps without ground truth counting 0 (UniAD); "
         "*L2 avg* averages each frame's errors up to that time, over the frames whose whole "
         "future has ground truth (VAD, Bench2DriveZoo). "
         "Collision (ST-P3, as VAD and Bench2DriveZoo compute it): the other road users' "
         "annotated future boxes on a 0.5 m grid, the ego as a fixed 4.084 m x 1.85 m box along "
         "the predicted trajectory (*box*) or as the one cell the reference reads for its point "
         "(*centre*, which it reads 25 m ahead-left of the point); each frame's rate is its mean "
         "over the steps up to that time, steps where the ground truth collides counting 0, over "
         "the frames whose whole future has ground truth; percent. The constant-velocity variant "
         "moves the agents' current boxes at their current velocity instead. "
         "See docs/metrics.md.\n\n";
  std::vector<std::string> titles = {"group", "frames"};
  for (const auto& h : horizons) titles.push_back("L2 " + h);
  for (const auto& h : horizons) titles.push_back("L2 avg " + h);
  table_header(out, titles);
  for (const std::string& group : groups) {
    const std::string prefix = "planning/" + group + "/";
    std::vector<std::string> row = {group, count(value_or_nan(metrics, prefix + "frames"))};
    for (const auto& h : horizons) row.push_back(number(value_or_nan(metrics, prefix + "l2/" + h)));
    for (const auto& h : horizons)
      row.push_back(number(value_or_nan(metrics, prefix + "l2_avg/" + h)));
    table_row(out, row);
  }
  out << "\n";
  // Percent columns per horizon of the named metrics, one row per group.
  const auto rate_table = [&](const std::vector<std::pair<std::string, std::string>>& columns) {
    std::vector<std::string> header = {"group", "frames"};
    for (const auto& [key, title] : columns) {
      for (const auto& h : horizons) header.push_back(title + " " + h);
    }
    table_header(out, header);
    for (const std::string& group : groups) {
      const std::string prefix = "planning/" + group + "/";
      std::vector<std::string> row = {group, count(value_or_nan(metrics, prefix + "frames"))};
      for (const auto& [key, title] : columns) {
        for (const auto& h : horizons)
          row.push_back(percent(value_or_nan(metrics, prefix + key + "/" + h)));
      }
      table_row(out, row);
    }
  };
  // The ground-truth trajectory under a collision metric: the floor its noise sets.
  const auto ground_truth_line = [&](const std::string& key) {
    for (const auto& h : horizons) {
      const double rate = value_or_nan(metrics, "planning/all/" + key + "/" + h);
      out << " " << h << " " << (std::isnan(rate) ? "-" : percent(rate) + " %") << ";";
    }
    out << "\n\n";
  };
  rate_table({{"obj_box_col", "Col. box %"}, {"obj_col", "Col. centre %"}});
  out << "\nSteps left out because the ground-truth trajectory's box collides:";
  ground_truth_line("gt_box_col");
  out << "Constant-velocity variant (Bench2Drive's ego footprint, turned along the trajectory):\n\n";
  rate_table({{"collision_cv", "Col. CV %"}, {"collision_cv_avg", "Col. CV % avg"}});
  out << "\nGround-truth trajectory against the same extrapolated agents:";
  ground_truth_line("gt_collision_cv");
}

void detection_section(std::ostringstream& out, const MetricSet& metrics) {
  std::vector<std::string> classes;
  for (const auto& [name, value] : metrics.entries()) {
    const std::vector<std::string> parts = split_name(name);
    if (parts.size() == 3 && parts[0] == "detection" && parts[2] == "gt")
      classes.push_back(parts[1]);
  }
  if (classes.empty()) return;
  const std::vector<std::string> thresholds = parts_at(metrics, "detection/ap/", 2, 3);
  out << "## Detection (BEV, centre-distance matching, nuScenes style)\n\n";
  std::vector<std::string> titles = {"class", "GT"};
  for (const auto& d : thresholds) titles.push_back("AP@" + d);
  for (const char* title : {"AP", "ATE (m)", "ASE", "AOE (rad)", "AVE (m/s)"})
    titles.push_back(title);
  table_header(out, titles);
  for (const std::string& name : classes) {
    const std::string prefix = "detection/" + name + "/";
    std::vector<std::string> row = {name, count(value_or_nan(metrics, prefix + "gt"))};
    for (const auto& d : thresholds)
      row.push_back(number(value_or_nan(metrics, prefix + "ap/" + d)));
    for (const char* key : {"ap_mean", "ate", "ase", "aoe", "ave"}) {
      row.push_back(number(value_or_nan(metrics, prefix + key)));
    }
    table_row(out, row);
  }
  std::vector<std::string> row = {"**mean**", ""};
  for (const auto& d : thresholds)
    row.push_back(number(value_or_nan(metrics, "detection/ap/" + d)));
  for (const char* key : {"map", "mate", "mase", "maoe", "mave"}) {
    row.push_back(number(value_or_nan(metrics, std::string("detection/") + key)));
  }
  table_row(out, row);
  out << "\n";
}

void risk_section(std::ostringstream& out, const MetricSet& metrics) {
  std::vector<std::pair<std::string, double>> rows;
  for (const auto& [name, value] : metrics.entries()) {
    if (name.rfind("risk/", 0) == 0) rows.emplace_back(name.substr(5), value);
  }
  if (rows.empty()) return;
  out << "## Risk (student RiskHead against the teacher's maps)\n\n";
  table_header(out, {"metric", "value"});
  for (const auto& [name, value] : rows) {
    // Counts (frames, cells, k) print as integers, measures with four decimals.
    const bool whole = std::isfinite(value) && value == std::floor(value) && std::abs(value) > 1.0;
    table_row(out, {name, whole ? count(value) : number(value, 4)});
  }
  out << "\n";
}

std::string compact(double value) {
  if (std::isnan(value)) return "-";
  char text[64];
  std::snprintf(text, sizeof(text), "%.4g", value);
  return text;
}

}  // namespace

std::string markdown_report(const MetricSet& metrics, const ReportInfo& info) {
  std::ostringstream out;
  out << "# " << info.title << "\n\n";
  for (const auto& [key, value] : info.details) out << "- " << key << ": `" << value << "`\n";
  if (!info.details.empty()) out << "\n";
  planning_section(out, metrics);
  detection_section(out, metrics);
  risk_section(out, metrics);
  if (!info.pictures.empty()) {
    out << "## Pictures\n\n";
    for (const std::string& picture : info.pictures) {
      out << "![" << fs::path(picture).stem().string() << "](" << picture << ")\n";
    }
    out << "\n";
  }
  return out.str();
}

void write_report(const std::string& directory, const MetricSet& metrics, const ReportInfo& info) {
  ReportInfo relative = info;
  for (std::string& picture : relative.pictures) {
    const fs::path path(picture);
    if (path.is_absolute() || fs::exists(path)) {
      picture = fs::relative(path, directory).generic_string();
    }
  }
  Json root;
  root["info"]["title"] = relative.title;
  for (const auto& [key, value] : relative.details) root["info"][key] = value;
  root["info"]["pictures"] = relative.pictures;
  root["metrics"] = nested_metrics(metrics);
  write_file_atomic((fs::path(directory) / kMetricsFile).string(), root.dump(2) + "\n");
  write_file_atomic((fs::path(directory) / kReportFile).string(),
                    markdown_report(metrics, relative));
}

MetricSet read_metrics(const std::string& path) {
  const fs::path file = fs::is_directory(path) ? fs::path(path) / kMetricsFile : fs::path(path);
  if (!fs::exists(file)) throw DataError(file.string() + ": no such metrics file");
  Json root;
  try {
    root = Json::parse(read_file(file.string()));
  } catch (const Json::exception& error) {
    throw DataError(file.string() + ": not valid JSON: " + error.what());
  }
  if (!root.is_object() || !root.contains("metrics") || !root["metrics"].is_object()) {
    throw DataError(file.string() + ": has no \"metrics\" object (not written by rsd_eval?)");
  }
  MetricSet metrics;
  flatten(root["metrics"], "", file.string(), metrics);
  return metrics;
}

std::string comparison_table(const MetricSet& a, const MetricSet& b, const std::string& name_a,
                             const std::string& name_b) {
  std::ostringstream out;
  table_header(out, {"metric", name_a, name_b, "difference"});
  const auto row = [&](const std::string& name) {
    const double value_a = value_or_nan(a, name);
    const double value_b = value_or_nan(b, name);
    table_row(out, {name, compact(value_a), compact(value_b), compact(value_b - value_a)});
  };
  for (const auto& [name, value] : a.entries()) row(name);
  for (const auto& [name, value] : b.entries()) {
    if (!a.contains(name)) row(name);
  }
  return out.str();
}

std::string compare_reports(const std::string& path_a, const std::string& path_b,
                            const std::string& out_path) {
  const MetricSet a = read_metrics(path_a);
  const MetricSet b = read_metrics(path_b);
  std::ostringstream out;
  out << "# Evaluation comparison\n\n- A: `" << path_a << "`\n- B: `" << path_b << "`\n\n"
      << comparison_table(a, b, "A", "B");
  const std::string text = out.str();
  if (!out_path.empty()) write_file_atomic(out_path, text);
  return text;
}

}  // namespace rsd::eval
