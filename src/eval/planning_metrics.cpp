#include "rsd/eval/planning_metrics.h"

#include <cmath>
#include <limits>
#include <utility>

#include "rsd/util/error.h"

namespace rsd::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kAllFrames = "all";

double ratio(double numerator, int64_t denominator) {
  return denominator > 0 ? numerator / static_cast<double>(denominator) : kNaN;
}

// The mean of the defined (non-NaN) values of steps 0..k; undefined when step k itself is (no
// frame reaches the horizon), so that an "average up to 3 s" always includes 3 s.
double average_up_to(const std::vector<double>& values, std::size_t k) {
  if (k >= values.size() || std::isnan(values[k])) return kNaN;
  double sum = 0.0;
  int64_t defined = 0;
  for (std::size_t i = 0; i <= k; ++i) {
    if (std::isnan(values[i])) continue;
    sum += values[i];
    ++defined;
  }
  return ratio(sum, defined);
}

std::vector<Eigen::Vector2d> points_of(const torch::TensorAccessor<double, 2>& rows) {
  std::vector<Eigen::Vector2d> points;
  for (int64_t k = 0; k < rows.size(0); ++k) points.emplace_back(rows[k][0], rows[k][1]);
  return points;
}

}  // namespace

PlanningAccumulator::PlanningAccumulator(PlanningMetricsOptions options)
    : options_(std::move(options)) {
  if (!(options_.step_s > 0.0)) {
    throw ConfigError("planning metrics: the waypoint step must be positive, got " +
                      std::to_string(options_.step_s) + " s");
  }
  for (const double horizon : options_.horizons_s) {
    const double steps = horizon / options_.step_s;
    const int64_t whole = std::llround(steps);
    if (whole < 1 || std::abs(steps - static_cast<double>(whole)) > 1e-6) {
      throw ConfigError("eval.horizons_s: " + std::to_string(horizon) +
                        " s is not a positive whole number of waypoint steps of " +
                        std::to_string(options_.step_s) + " s");
    }
    horizon_steps_.push_back(whole - 1);
  }
}

PlanningAccumulator::GroupSums& PlanningAccumulator::group(const std::string& name) {
  GroupSums& sums = groups_[name];
  if (sums.l2.empty()) {
    sums.l2.assign(static_cast<std::size_t>(steps_), 0.0);
    sums.l2_full_future.assign(static_cast<std::size_t>(steps_), 0.0);
    sums.valid.assign(static_cast<std::size_t>(steps_), 0);
    sums.collisions.assign(static_cast<std::size_t>(steps_), 0);
    sums.target_collisions.assign(static_cast<std::size_t>(steps_), 0);
    sums.obj_col.assign(static_cast<std::size_t>(steps_), 0);
    sums.obj_box_col.assign(static_cast<std::size_t>(steps_), 0);
    sums.gt_box_col.assign(static_cast<std::size_t>(steps_), 0);
  }
  return sums;
}

void PlanningAccumulator::add(const PlanningFrame& frame) {
  const auto steps = static_cast<int64_t>(frame.predicted.size());
  RSD_CHECK(
      frame.target.size() == frame.predicted.size() && frame.valid.size() == frame.predicted.size(),
      "planning frame: ", frame.predicted.size(), " predicted, ", frame.target.size(),
      " target waypoints and ", frame.valid.size(), " mask entries");
  if (steps_ < 0) steps_ = steps;
  RSD_CHECK_EQ(steps, steps_, "every frame must predict the same number of waypoints");

  std::vector<double> times(static_cast<std::size_t>(steps));
  for (int64_t k = 0; k < steps; ++k) times[k] = static_cast<double>(k + 1) * options_.step_s;
  const std::vector<bool> collisions = trajectory_collisions(
      frame.predicted, times, frame.obstacles, options_.ego_length, options_.ego_width);
  const std::vector<bool> target_collisions = trajectory_collisions(
      frame.target, times, frame.obstacles, options_.ego_length, options_.ego_width);

  bool full_future = true;
  for (const bool valid : frame.valid) full_future = full_future && valid;

  // VAD's compute_planner_metric_stp3 judges only samples whose whole future is valid
  // (fut_valid_flag), against the occupancy of the agents' annotated futures (get_label).
  std::optional<Stp3Collisions> stp3;
  if (frame.agent_futures && full_future) {
    RSD_CHECK(static_cast<int64_t>(frame.agent_futures->size()) == steps,
              "planning frame: agent futures for ", frame.agent_futures->size(), " steps, ", steps,
              " waypoints");
    std::vector<Stp3Occupancy> occupancy(static_cast<std::size_t>(steps));
    for (int64_t k = 0; k < steps; ++k) {
      for (const Footprint& agent : (*frame.agent_futures)[static_cast<std::size_t>(k)]) {
        occupancy[static_cast<std::size_t>(k)].add(agent);
      }
    }
    stp3 = stp3_collisions(frame.predicted, frame.target, occupancy);
  }

  std::vector<std::string> names = {kAllFrames};
  names.insert(names.end(), frame.groups.begin(), frame.groups.end());
  for (const std::string& name : names) {
    GroupSums& sums = group(name);
    ++sums.frames;
    if (full_future) ++sums.full_future_frames;
    if (stp3) {
      ++sums.stp3_frames;
      for (int64_t k = 0; k < steps; ++k) {
        const auto step = static_cast<std::size_t>(k);
        sums.obj_col[step] += stp3->obj_col[step] ? 1 : 0;
        sums.obj_box_col[step] += stp3->obj_box_col[step] ? 1 : 0;
        sums.gt_box_col[step] += stp3->gt_box_col[step] ? 1 : 0;
      }
    }
    for (int64_t k = 0; k < steps; ++k) {
      if (!frame.valid[k]) continue;
      const double error = (frame.predicted[k] - frame.target[k]).norm();
      sums.l2[k] += error;
      if (full_future) sums.l2_full_future[k] += error;
      sums.valid[k] += 1;
      sums.collisions[k] += collisions[k] ? 1 : 0;
      sums.target_collisions[k] += target_collisions[k] ? 1 : 0;
    }
  }
}

void PlanningAccumulator::add_batch(const torch::Tensor& predicted, const torch::Tensor& target,
                                    const torch::Tensor& mask, std::vector<PlanningFrame> frames) {
  RSD_CHECK(predicted.dim() == 3 && predicted.size(2) == 2,
            "predicted waypoints must be (B, T, 2), got ", predicted.sizes());
  RSD_CHECK(target.sizes() == predicted.sizes(), "target waypoints ", target.sizes(),
            " differ from the predicted ", predicted.sizes());
  RSD_CHECK(
      mask.dim() == 2 && mask.size(0) == predicted.size(0) && mask.size(1) == predicted.size(1),
      "waypoint mask must be (B, T), got ", mask.sizes());
  const int64_t batch = predicted.size(0);
  RSD_CHECK(static_cast<int64_t>(frames.size()) == batch, "one planning frame per batch entry: ",
            frames.size(), " for ", batch, " frames");
  const torch::Tensor predicted_cpu =
      predicted.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor target_cpu = target.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor mask_cpu = mask.detach().to(torch::kCPU, torch::kBool).contiguous();
  const auto predicted_rows = predicted_cpu.accessor<double, 3>();
  const auto target_rows = target_cpu.accessor<double, 3>();
  const auto mask_rows = mask_cpu.accessor<bool, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    PlanningFrame& frame = frames[static_cast<std::size_t>(b)];
    frame.predicted = points_of(predicted_rows[b]);
    frame.target = points_of(target_rows[b]);
    frame.valid.clear();
    for (int64_t k = 0; k < mask_rows.size(1); ++k) frame.valid.push_back(mask_rows[b][k]);
    add(frame);
  }
}

void PlanningAccumulator::add_group_metrics(MetricSet& metrics, const std::string& name,
                                            const GroupSums& sums,
                                            bool with_target_collisions) const {
  const std::string prefix = "planning/" + name + "/";
  metrics.set(prefix + "frames", static_cast<double>(sums.frames));
  metrics.set(prefix + "full_future_frames", static_cast<double>(sums.full_future_frames));
  // UniAD (planning_metrics.py, PlanningMetric.update/compute): L2 = sqrt(sum((pred - gt)^2 *
  // mask)) per step, summed over the samples and divided by ALL of them (`total`), so a step
  // without ground truth counts 0.
  // VAD / Bench2DriveZoo (compute_planner_metric_stp3 with metric_stp3.py's compute_L2, then the
  // dataset's evaluate()): a sample counts only when its whole future is valid
  // (fut_valid_flag); its L2 up to a horizon is the mean of its per-step errors; the samples'
  // values are averaged. With the same samples at every step that is the mean, over the steps up
  // to the horizon, of the per-step means over those samples.
  // ST-P3 (VAD's compute_planner_metric_stp3, then the dataset's evaluate()): a sample's rate up
  // to a horizon is the mean of its per-step indicators over the steps up to it (evaluate_coll's
  // sums over one sample, .mean()); the samples' rates are averaged. The same samples count at
  // every step, so that is the mean over the steps of the per-step rates.
  std::vector<double> l2_all_frames, l2_full_future, obj_col, obj_box_col, gt_box_col,
      collision_cv_per_step;
  const auto rate = [](int64_t count, int64_t frames) {
    return ratio(static_cast<double>(count), frames);
  };
  for (std::size_t k = 0; k < sums.l2.size(); ++k) {
    l2_all_frames.push_back(ratio(sums.l2[k], sums.frames));
    l2_full_future.push_back(ratio(sums.l2_full_future[k], sums.full_future_frames));
    obj_col.push_back(rate(sums.obj_col[k], sums.stp3_frames));
    obj_box_col.push_back(rate(sums.obj_box_col[k], sums.stp3_frames));
    gt_box_col.push_back(rate(sums.gt_box_col[k], sums.stp3_frames));
    collision_cv_per_step.push_back(rate(sums.collisions[k], sums.valid[k]));
  }
  for (std::size_t i = 0; i < horizon_steps_.size(); ++i) {
    const std::string horizon = format_quantity(options_.horizons_s[i], "s");
    const auto k = static_cast<std::size_t>(horizon_steps_[i]);
    const bool in_range = k < l2_all_frames.size();
    metrics.set(prefix + "l2/" + horizon, in_range ? l2_all_frames[k] : kNaN);
    metrics.set(prefix + "l2_avg/" + horizon, average_up_to(l2_full_future, k));
    metrics.set(prefix + "obj_col/" + horizon, average_up_to(obj_col, k));
    metrics.set(prefix + "obj_box_col/" + horizon, average_up_to(obj_box_col, k));
    metrics.set(prefix + "collision_cv/" + horizon, in_range ? collision_cv_per_step[k] : kNaN);
    metrics.set(prefix + "collision_cv_avg/" + horizon, average_up_to(collision_cv_per_step, k));
  }
  if (!with_target_collisions) return;
  for (std::size_t i = 0; i < horizon_steps_.size(); ++i) {
    const std::string horizon = format_quantity(options_.horizons_s[i], "s");
    const auto k = static_cast<std::size_t>(horizon_steps_[i]);
    metrics.set(prefix + "gt_box_col/" + horizon, average_up_to(gt_box_col, k));
    metrics.set(prefix + "gt_collision_cv/" + horizon,
                k < sums.valid.size() ? rate(sums.target_collisions[k], sums.valid[k]) : kNaN);
  }
}

MetricSet PlanningAccumulator::metrics() const {
  MetricSet metrics;
  const auto all = groups_.find(kAllFrames);
  // Before any frame every metric is undefined; the names are still listed so reports keep shape.
  add_group_metrics(metrics, kAllFrames, all != groups_.end() ? all->second : GroupSums{}, true);
  for (const auto& [name, sums] : groups_) {
    if (name != kAllFrames) add_group_metrics(metrics, name, sums, false);
  }
  return metrics;
}

}  // namespace rsd::eval
