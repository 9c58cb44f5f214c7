#include "rsd/eval/training_curves.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <utility>

#include "rsd/util/error.h"
#include "rsd/util/fs.h"
#include "rsd/util/logging.h"

namespace rsd::eval {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLogFile = "metrics.jsonl";

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// A panel's definition: the (mode, key) series it overlays.
struct PanelSpec {
  std::string title;
  bool is_loss = false;
  std::vector<std::pair<std::string, std::string>> members;
};

void add_member(std::vector<PanelSpec>& specs, const std::string& title, bool is_loss,
                const std::string& mode, const std::string& key) {
  auto panel = std::find_if(specs.begin(), specs.end(),
                            [&](const PanelSpec& spec) { return spec.title == title; });
  if (panel == specs.end()) {
    specs.push_back({title, is_loss, {}});
    panel = specs.end() - 1;
  }
  const std::pair<std::string, std::string> member{mode, key};
  if (std::find(panel->members.begin(), panel->members.end(), member) == panel->members.end()) {
    panel->members.push_back(member);
  }
}

bool is_loss_term(const std::string& key) {
  return starts_with(key, "loss_") && key != "loss_scale";  // the fp16 loss scale is no loss
}

bool is_rate(const std::string& key) { return key == "lr" || starts_with(key, "lr_"); }

// The panels in the documented order; a group of panels keeps the order in which the runs'
// files first name their keys.
std::vector<PanelSpec> panel_specs(const std::vector<TrainingLog>& runs) {
  std::vector<PanelSpec> specs;
  auto any_run_has = [&](const std::string& mode, const std::string& key) {
    return std::any_of(runs.begin(), runs.end(),
                       [&](const TrainingLog& run) { return run.find(mode, key) != nullptr; });
  };
  auto for_each_series = [&](const auto& visit) {
    for (const TrainingLog& run : runs) {
      for (const MetricSeries& series : run.series) visit(series);
    }
  };
  if (any_run_has("train", "loss")) add_member(specs, "train loss", true, "train", "loss");
  for_each_series([&](const MetricSeries& series) {
    if (series.mode == "train" && is_loss_term(series.key)) {
      add_member(specs, "train " + series.key, true, "train", series.key);
    }
  });
  if (any_run_has("val", "loss")) add_member(specs, "val loss", true, "val", "loss");
  for_each_series([&](const MetricSeries& series) {
    if (series.mode == "val") {
      add_member(specs, "val " + series.key, starts_with(series.key, "loss"), "val", series.key);
    }
  });
  for_each_series([&](const MetricSeries& series) {
    if (series.mode == "train" && is_rate(series.key)) {
      add_member(specs, "learning rate", false, "train", series.key);
    }
  });
  if (any_run_has("train", "samples_per_s")) {
    add_member(specs, "samples/s", false, "train", "samples_per_s");
  }
  if (any_run_has("train", "grad_norm")) {
    add_member(specs, "grad norm", false, "train", "grad_norm");
  }
  return specs;
}

// A series of a panel with its legend label and colour index.
struct DrawnSeries {
  std::string label;
  const MetricSeries* series = nullptr;
  std::size_t colour = 0;
};

// The series a panel draws. A panel of one key colours each run by its place among the runs, so
// that a run keeps its colour from panel to panel; a panel of several keys (the learning rate of
// several groups) counts its series.
std::vector<DrawnSeries> panel_series(const PanelSpec& spec, const std::vector<TrainingLog>& runs) {
  std::vector<DrawnSeries> drawn;
  for (std::size_t run_index = 0; run_index < runs.size(); ++run_index) {
    const TrainingLog& run = runs[run_index];
    for (const auto& [mode, key] : spec.members) {
      const MetricSeries* series = run.find(mode, key);
      if (!series) continue;
      std::string label = runs.size() > 1 || spec.members.size() == 1 ? run.name : key;
      if (runs.size() > 1 && spec.members.size() > 1) label += ": " + key;
      drawn.push_back({label, series, spec.members.size() == 1 ? run_index : drawn.size()});
    }
  }
  return drawn;
}

CurvePanel curve_panel(const PanelSpec& spec, const std::vector<DrawnSeries>& drawn) {
  CurvePanel panel{spec.title, spec.is_loss, {}, {}};
  for (const DrawnSeries& entry : drawn) {
    panel.labels.push_back(entry.label);
    panel.colours.push_back(entry.colour);
  }
  return panel;
}

cv::Scalar bgr(std::size_t index) {
  const std::array<uint8_t, 3> rgb = curve_colour(index);
  return {static_cast<double>(rgb[2]), static_cast<double>(rgb[1]), static_cast<double>(rgb[0])};
}

const cv::Scalar kText(40, 40, 40);
const cv::Scalar kFrame(80, 80, 80);
const cv::Scalar kGrid(228, 228, 228);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

std::string format_number(double value, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*g", digits, value);
  return text;
}

// Ticks at 1, 2 or 5 times a power of ten, about `target` of them within [low, high].
std::vector<double> nice_ticks(double low, double high, int target) {
  const double span = high - low;
  if (!(span > 0.0)) return {low};
  const double raw = span / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalised = raw / magnitude;
  const double step =
      magnitude * (normalised < 1.5 ? 1.0 : normalised < 3.0 ? 2.0 : normalised < 7.0 ? 5.0 : 10.0);
  std::vector<double> ticks;
  const double first = std::ceil(low / step) * step;
  for (int i = 0; first + i * step <= high + step * 1e-9; ++i) {
    const double tick = first + i * step;
    ticks.push_back(std::abs(tick) < step * 1e-9 ? 0.0 : tick);  // no "-1.2e-17" for 0
  }
  return ticks;
}

// The documented value -> pixel mapping of one panel's plot area.
struct PlotArea {
  int left = 0, top = 0, width = 1, height = 1;  // pixels
  double step_min = 0.0, step_max = 0.0;
  double value_min = 0.0, value_max = 1.0;  // log10 values on a log axis
  bool log_axis = false;

  int column(double step) const {
    const double fraction = step_max > step_min ? (step - step_min) / (step_max - step_min) : 0.5;
    return left + static_cast<int>(std::lround(fraction * (width - 1)));
  }
  int row(double axis_value) const {
    const double fraction = (value_max - axis_value) / (value_max - value_min);
    return top + static_cast<int>(std::lround(fraction * (height - 1)));
  }
  // The value on the axis, or NaN when the axis cannot show it (<= 0 on a log axis).
  double axis_value(double value) const {
    if (!log_axis) return value;
    return value > 0.0 ? std::log10(value) : std::nan("");
  }
};

PlotArea plot_area(const std::vector<DrawnSeries>& drawn,
                   bool is_loss, int panel_x, int panel_y, const CurvePlotOptions& options) {
  PlotArea area;
  area.left = panel_x + options.margin_left;
  area.top = panel_y + options.margin_top;
  area.width = std::max(2, options.panel_width - options.margin_left - options.margin_right);
  area.height = std::max(2, options.panel_height - options.margin_top - options.margin_bottom);
  double step_min = INFINITY, step_max = -INFINITY, value_min = INFINITY, value_max = -INFINITY;
  double positive_min = INFINITY;
  for (const DrawnSeries& entry : drawn) {
    const MetricSeries* series = entry.series;
    for (std::size_t i = 0; i < series->steps.size(); ++i) {
      step_min = std::min(step_min, series->steps[i]);
      step_max = std::max(step_max, series->steps[i]);
      value_min = std::min(value_min, series->values[i]);
      value_max = std::max(value_max, series->values[i]);
      if (series->values[i] > 0.0) positive_min = std::min(positive_min, series->values[i]);
    }
  }
  if (step_min > step_max) return area;  // no points: the caller says so
  area.step_min = step_min;
  area.step_max = step_max;
  area.log_axis = is_loss && options.log_scale_losses && std::isfinite(positive_min) &&
                  value_max / positive_min > 100.0;
  if (area.log_axis) {
    value_min = std::log10(positive_min);
    value_max = std::log10(value_max);
  }
  const double span = value_max - value_min;
  const double widen = span > 0.0         ? 0.05 * span
                       : value_max != 0.0 ? 0.05 * std::abs(value_max)
                                          : 1.0;
  area.value_min = value_min - widen;
  area.value_max = value_max + widen;
  return area;
}

void draw_axes(cv::Mat& picture, const PlotArea& area) {
  const int right = area.left + area.width - 1;
  const int bottom = area.top + area.height - 1;
  const double font_scale = 0.38;
  const std::vector<double> x_ticks = nice_ticks(area.step_min, area.step_max, 5);
  for (double step : x_ticks) {
    const int x = area.column(step);
    cv::line(picture, {x, area.top}, {x, bottom}, kGrid, 1, cv::LINE_8);
    cv::line(picture, {x, bottom}, {x, bottom + 4}, kFrame, 1, cv::LINE_8);
    const std::string text = format_number(step, 7);
    int baseline = 0;
    const cv::Size size = cv::getTextSize(text, kFont, font_scale, 1, &baseline);
    cv::putText(picture, text, {x - size.width / 2, bottom + 8 + size.height}, kFont, font_scale,
                kText, 1, cv::LINE_AA);
  }
  std::vector<double> y_ticks;
  if (area.log_axis) {
    for (double decade = std::ceil(area.value_min); decade <= area.value_max; decade += 1.0) {
      y_ticks.push_back(decade);
    }
  } else {
    y_ticks = nice_ticks(area.value_min, area.value_max, 5);
  }
  for (double tick : y_ticks) {
    const int y = area.row(tick);
    cv::line(picture, {area.left, y}, {right, y}, kGrid, 1, cv::LINE_8);
    cv::line(picture, {area.left - 4, y}, {area.left, y}, kFrame, 1, cv::LINE_8);
    const std::string text = format_number(area.log_axis ? std::pow(10.0, tick) : tick, 3);
    int baseline = 0;
    const cv::Size size = cv::getTextSize(text, kFont, font_scale, 1, &baseline);
    cv::putText(picture, text, {area.left - 7 - size.width, y + size.height / 2}, kFont,
                font_scale, kText, 1, cv::LINE_AA);
  }
  cv::rectangle(picture, {area.left, area.top}, {right, bottom}, kFrame, 1, cv::LINE_8);
  int baseline = 0;
  const cv::Size size = cv::getTextSize("step", kFont, font_scale, 1, &baseline);
  cv::putText(picture, "step", {right - size.width, bottom + 30}, kFont, font_scale, kText, 1,
              cv::LINE_AA);
}

// Legend entries left to right under the title, on at most two rows; what does not fit is cut
// with "...".
void draw_legend(cv::Mat& picture, const std::vector<DrawnSeries>& entries, int x0, int y0,
                 int x_end) {
  const double font_scale = 0.4;
  int x = x0, y = y0;
  for (const DrawnSeries& entry : entries) {
    int baseline = 0;
    const cv::Size size = cv::getTextSize(entry.label, kFont, font_scale, 1, &baseline);
    const int entry_width = 22 + size.width + 12;
    if (x > x0 && x + entry_width > x_end) {
      if (y > y0) {
        cv::putText(picture, "...", {x, y}, kFont, font_scale, kText, 1, cv::LINE_AA);
        return;
      }
      x = x0;
      y += 15;
    }
    cv::line(picture, {x, y - 4}, {x + 18, y - 4}, bgr(entry.colour), 2, cv::LINE_8);
    cv::putText(picture, entry.label, {x + 22, y}, kFont, font_scale, kText, 1, cv::LINE_AA);
    x += entry_width;
  }
}

void draw_panel(cv::Mat& picture, const PanelSpec& spec, const std::vector<DrawnSeries>& drawn,
                int panel_x, int panel_y, const CurvePlotOptions& options) {
  const PlotArea area = plot_area(drawn, spec.is_loss, panel_x, panel_y, options);
  const std::string title = spec.title + (area.log_axis ? " (log scale)" : "");
  cv::putText(picture, title, {area.left, panel_y + 18}, kFont, 0.5, kText, 1, cv::LINE_AA);
  draw_legend(picture, drawn, area.left, panel_y + 36, panel_x + options.panel_width);

  const bool has_points = std::any_of(drawn.begin(), drawn.end(), [](const DrawnSeries& entry) {
    return !entry.series->steps.empty();
  });
  if (!has_points) {
    cv::rectangle(picture, {area.left, area.top},
                  {area.left + area.width - 1, area.top + area.height - 1}, kFrame, 1);
    cv::putText(picture, "no finite values", {area.left + 10, area.top + area.height / 2}, kFont,
                0.5, kText, 1, cv::LINE_AA);
    return;
  }
  draw_axes(picture, area);
  // After the axes, so that the frame and grid never cover a curve.
  for (const DrawnSeries& entry : drawn) {
    const MetricSeries& series = *entry.series;
    std::vector<cv::Point> points;
    for (std::size_t j = 0; j < series.steps.size(); ++j) {
      const double value = area.axis_value(series.values[j]);
      if (std::isnan(value)) continue;
      points.emplace_back(area.column(series.steps[j]), area.row(value));
    }
    if (points.size() == 1) {
      cv::circle(picture, points.front(), 3, bgr(entry.colour), cv::FILLED, cv::LINE_8);
    } else if (!points.empty()) {
      cv::polylines(picture, points, false, bgr(entry.colour), 2, cv::LINE_8);
    }
  }
}

void write_png_atomic(const std::string& path, const cv::Mat& picture) {
  std::vector<uchar> bytes;
  try {
    if (!cv::imencode(".png", picture, bytes)) throw Error("cannot encode curves for " + path);
  } catch (const cv::Exception& error) {
    throw Error("cannot encode curves for " + path + ": " + error.what());
  }
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

// A folder's path without a trailing separator, so that parent_path() climbs one level.
fs::path folder_path(const std::string& folder) {
  fs::path path = fs::path(folder).lexically_normal();
  if (path.filename().empty() && path.has_parent_path()) path = path.parent_path();
  return path;
}

}  // namespace

const MetricSeries* TrainingLog::find(const std::string& mode, const std::string& key) const {
  for (const MetricSeries& entry : series) {
    if (entry.mode == mode && entry.key == key) return &entry;
  }
  return nullptr;
}

TrainingLog read_training_log(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  if (!in) throw DataError("cannot open training log " + path);
  TrainingLog log;
  log.path = path;
  log.name = name.empty() ? folder_path(fs::path(path).parent_path().string()).filename().string()
                          : name;
  if (log.name.empty()) log.name = path;
  std::map<std::pair<std::string, std::string>, std::size_t> index;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::ordered_json object =
        nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!object.is_object() || !object.contains("mode") || !object["mode"].is_string() ||
        !object.contains("step") || !object["step"].is_number()) {
      ++log.unreadable_lines;
      continue;
    }
    const std::string mode = object["mode"].get<std::string>();
    const double step = object["step"].get<double>();
    for (const auto& [key, value] : object.items()) {
      if (key == "mode" || key == "step") continue;
      auto [entry, added] = index.try_emplace({mode, key}, log.series.size());
      if (added) log.series.push_back({mode, key, {}, {}});
      MetricSeries& series = log.series[entry->second];
      const double number = value.is_number() ? value.get<double>() : std::nan("");
      if (!std::isfinite(number)) {
        ++log.skipped_values;
        continue;
      }
      series.steps.push_back(step);
      series.values.push_back(number);
    }
  }
  // A resumed run's file is in step order; a file appended to by hand may not be.
  for (MetricSeries& series : log.series) {
    std::vector<std::size_t> order(series.steps.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return series.steps[a] < series.steps[b];
    });
    MetricSeries sorted{series.mode, series.key, {}, {}};
    for (std::size_t i : order) {
      sorted.steps.push_back(series.steps[i]);
      sorted.values.push_back(series.values[i]);
    }
    series = std::move(sorted);
  }
  return log;
}

std::vector<CurvePanel> plan_curve_panels(const std::vector<TrainingLog>& runs) {
  std::vector<CurvePanel> panels;
  for (const PanelSpec& spec : panel_specs(runs)) {
    panels.push_back(curve_panel(spec, panel_series(spec, runs)));
  }
  return panels;
}

std::array<uint8_t, 3> curve_colour(std::size_t index) {
  static constexpr std::array<std::array<uint8_t, 3>, 10> kTab10 = {{{31, 119, 180},
                                                                     {255, 127, 14},
                                                                     {44, 160, 44},
                                                                     {214, 39, 40},
                                                                     {148, 103, 189},
                                                                     {140, 86, 75},
                                                                     {227, 119, 194},
                                                                     {127, 127, 127},
                                                                     {188, 189, 34},
                                                                     {23, 190, 207}}};
  return kTab10[index % kTab10.size()];
}

std::vector<CurvePanel> draw_training_curves(const std::vector<TrainingLog>& runs,
                                             const std::string& png_path,
                                             const CurvePlotOptions& options) {
  if (options.panel_width < 1 || options.panel_height < 1 || options.columns < 1) {
    throw Error("training curves for " + png_path + ": panel size and columns must be positive");
  }
  const std::vector<PanelSpec> specs = panel_specs(runs);
  if (specs.empty()) {
    cv::Mat picture(options.panel_height, options.panel_width, CV_8UC3, cv::Scalar::all(255));
    std::string note = "no data";
    for (const TrainingLog& run : runs) note += (note == "no data" ? ": " : ", ") + run.path;
    cv::putText(picture, note, {10, options.panel_height / 2}, kFont, 0.45, kText, 1, cv::LINE_AA);
    write_png_atomic(png_path, picture);
    return {};
  }
  const int count = static_cast<int>(specs.size());
  const int columns = std::min(count, options.columns);
  const int rows = (count + columns - 1) / columns;
  cv::Mat picture(rows * options.panel_height, columns * options.panel_width, CV_8UC3,
                  cv::Scalar::all(255));
  std::vector<CurvePanel> panels;
  for (int i = 0; i < count; ++i) {
    const auto drawn = panel_series(specs[i], runs);
    draw_panel(picture, specs[i], drawn, (i % columns) * options.panel_width,
               (i / columns) * options.panel_height, options);
    panels.push_back(curve_panel(specs[i], drawn));
  }
  write_png_atomic(png_path, picture);
  return panels;
}

std::string find_training_log(const std::string& folder) {
  fs::path path = folder_path(folder);
  for (int level = 0; level <= 3 && !path.empty(); ++level) {
    const fs::path candidate = path / kLogFile;
    std::error_code error;
    if (fs::is_regular_file(candidate, error)) return candidate.string();
    if (!path.has_parent_path() || path.parent_path() == path) break;
    path = path.parent_path();
  }
  return "";
}

bool draw_compared_training_curves(const std::vector<std::string>& folders,
                                   const std::string& png_path, const CurvePlotOptions& options) {
  std::vector<TrainingLog> runs;
  for (const std::string& folder : folders) {
    const std::string path = find_training_log(folder);
    if (path.empty()) {
      logging::warn("no metrics.jsonl in " + folder + " or the three folders above it: its " +
                    "training curves are left out");
      continue;
    }
    runs.push_back(read_training_log(path));
    const TrainingLog& run = runs.back();
    if (run.unreadable_lines > 0 || run.skipped_values > 0) {
      logging::warn(path + ": " + std::to_string(run.unreadable_lines) + " unreadable line(s), " +
                    std::to_string(run.skipped_values) + " null or non-numeric value(s) left out");
    }
  }
  if (runs.empty()) return false;
  // Two runs of the same name (runs_a/exp and runs_b/exp) are told apart by their paths.
  std::map<std::string, int> name_counts;
  for (const TrainingLog& run : runs) ++name_counts[run.name];
  for (TrainingLog& run : runs) {
    if (name_counts[run.name] > 1) run.name = fs::path(run.path).parent_path().string();
  }
  draw_training_curves(runs, png_path, options);
  return true;
}

}  // namespace rsd::eval
