// Training curves as one PNG: metrics.jsonl (see rsd/util/metrics_writer.h) read back and drawn
// as a grid of panels, one run or several overlaid (rsd_eval --compare).
//
// Panels, in this order, each present when at least one run has its series:
//   "train loss", then "train loss_<term>" for each term of the train lines;
//   "val <key>" for each number of the val lines ("val loss" first);
//   "learning rate" (lr, and lr_<group> where a run logs rates per parameter group);
//   "samples/s" (samples_per_s) and "grad norm" (grad_norm).
// Step on x. Panel i sits at column i % columns, row i / columns of the picture (columns =
// min(panels, CurvePlotOptions::columns)); every panel is panel_width x panel_height pixels.
// Inside a panel the plot area is the rectangle left by the margins; a point (step, value) is
// drawn at
//   column = panel_x + margin_left + round((step - step_min) / (step_max - step_min) * (plot_w-1))
//   row = panel_y + margin_top + round((value_max - value) / (value_max - value_min) * (plot_h-1))
// with plot_w = panel_width - margin_left - margin_right (plot_h likewise), step_min/step_max the
// smallest and largest step of the panel's series (one step: centred), and value_min/value_max
// the panel's smallest and largest value widened by 5% of their span on each side (a flat series:
// by 5% of |value|, or by 1 around 0). A loss panel whose positive values span more than two
// decades (max / min > 100) uses a log10 axis: the same formula on log10(value), non-positive
// values left out. Series are 2-pixel lines without anti-aliasing (a lone point: a dot), in
// curve_colour(r) for the r-th run given, so that a run keeps its colour in every panel; in a
// panel of several keys ("learning rate" per group) curve_colour(i) for its i-th series.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace rsd::eval {

/// One scalar of one mode over steps, sorted by step.
struct MetricSeries {
  std::string mode;  // "train" or "val"
  std::string key;   // e.g. "loss_planning", "lr", "samples_per_s"
  std::vector<double> steps;
  std::vector<double> values;
};

/// A metrics.jsonl read back.
struct TrainingLog {
  std::string name;  // the run's name in legends
  std::string path;
  std::vector<MetricSeries> series;  // in the order their keys first appear in the file
  /// Lines that are not a JSON object with "mode" and a numeric "step" (a run killed mid-line
  /// leaves a truncated last line): left out.
  int64_t unreadable_lines = 0;
  /// Values that are null (NaN and Inf are written as null) or not numbers: left out.
  int64_t skipped_values = 0;

  /// The series of `mode`/`key`, or nullptr.
  const MetricSeries* find(const std::string& mode, const std::string& key) const;
};

/// Reads `path` (a metrics.jsonl); `name` names the run in legends (empty: the name of the
/// file's folder). Throws rsd::DataError when the file cannot be opened; bad lines and values
/// are counted, not thrown (the file of a running or killed run is read as it is).
TrainingLog read_training_log(const std::string& path, const std::string& name = "");

struct CurvePlotOptions {
  int panel_width = 480;
  int panel_height = 320;
  int columns = 3;
  int margin_left = 64;    // y tick labels
  int margin_right = 16;
  int margin_top = 56;     // the title, then up to two rows of legend
  int margin_bottom = 36;  // x tick labels and "step"
  /// Log10 y axis for loss panels whose positive values span more than two decades.
  bool log_scale_losses = true;
};

/// One panel of the picture and the series it overlays, in drawing order: legend labels (the
/// run's name; the key alone for one run's groups; "<run>: <key>" for several runs' groups) and
/// their curve_colour indices.
struct CurvePanel {
  std::string title;
  bool is_loss = false;
  std::vector<std::string> labels;
  std::vector<std::size_t> colours;
};

/// The panels that `runs` fill, in drawing order (the union over the runs).
std::vector<CurvePanel> plan_curve_panels(const std::vector<TrainingLog>& runs);

/// The colour of a panel's i-th series (tab10: blue, orange, green, red, ...), as R, G, B;
/// cycles after 10.
std::array<uint8_t, 3> curve_colour(std::size_t index);

/// Draws the panels of `runs` into one PNG at `png_path`, written atomically (a viewer never
/// sees half a file; the folder is created). With no series at all the picture is one panel
/// saying "no data" (not an error: a run's first validation may come before its first train
/// line). Returns the panels drawn. Throws rsd::Error naming the path when it cannot be written.
std::vector<CurvePanel> draw_training_curves(const std::vector<TrainingLog>& runs,
                                             const std::string& png_path,
                                             const CurvePlotOptions& options = {});

/// The metrics.jsonl of a run, given its run folder or a folder inside it (an evaluation folder
/// runs/<name>/eval/<split>): the first of `folder` and its three nearest ancestors that holds
/// one; "" when none does.
std::string find_training_log(const std::string& folder);

/// rsd_eval --compare's curves: the runs behind `folders` (see find_training_log), overlaid
/// panel by panel, one colour per run, legends naming the runs (their folders' names). Runs
/// without a metrics.jsonl are left out; returns false (nothing written) when none has one.
bool draw_compared_training_curves(const std::vector<std::string>& folders,
                                   const std::string& png_path,
                                   const CurvePlotOptions& options = {});

}  // namespace rsd::eval
