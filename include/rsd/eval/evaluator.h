// Evaluator: runs a model over a loader (no gradients, eval mode, with a progress bar) and feeds
// the planning, detection and risk accumulators batch by batch, rendering pictures of chosen
// frames on the way. Memory stays bounded however long the split is.
//
//   rsd::eval::Evaluator evaluator(rsd::eval::EvaluatorOptions(grid));  // or pipeline::evaluator_options_from
//   rsd::eval::MetricSet metrics = evaluator.run(model, loader);
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "rsd/data/batch.h"
#include "rsd/data/loader.h"
#include "rsd/eval/agent_futures.h"
#include "rsd/eval/detection_metrics.h"
#include "rsd/eval/metric_set.h"
#include "rsd/eval/planning_metrics.h"
#include "rsd/eval/reference_planners.h"
#include "rsd/eval/risk_metrics.h"
#include "rsd/geometry/grid_spec.h"
#include "rsd/model/detection_head.h"
#include "rsd/model/e2e_model.h"

namespace rsd::eval {

struct EvaluatorOptions {
  explicit EvaluatorOptions(GridSpec grid) : grid(grid) {}

  GridSpec grid;  // the BEV grid of the data and the model
  PlanningMetricsOptions planning;
  /// The clips' annotations, for the agents' real futures (the ST-P3 collision metric, obj_col
  /// and obj_box_col); null: those metrics are undefined. Its steps must be the model's waypoints.
  std::shared_ptr<const AgentFutureReader> agent_futures;
  DetectionMetricsOptions detection;  // its classes: the heatmap channels, in order
  model::DetectionDecodeOptions decode;
  RiskMetricsOptions risk;
  int64_t pictures = 8;                     // render the first K frames ...
  std::vector<std::string> picture_frames;  // ... or, when set, these "<clip>/<frame>"
  std::string picture_dir;                  // where the PNGs go; empty: no pictures
  int64_t picture_camera = 0;               // camera index (in data.cameras) to draw on
  int64_t picture_cell_pixels = 4;          // BEV picture scale
  int64_t max_batches = 0;                  // stop after this many batches; 0: all
  /// Also score planners that read only the ego status on the same frames, as
  /// reference/<name>/planning/...: constant_velocity, and ego_linear when it is set (fitted).
  bool reference_planners = false;
  std::shared_ptr<const EgoLinearPlanner> ego_linear;
  /// When set: one JSON line per frame (clip, frame, groups, and per planner its planning/all
  /// metrics on that frame alone), for confidence intervals over frames. Parent folders are made.
  std::string frame_records_path;
  bool progress = true;                     // show a progress bar
};

/// The groups a frame's planning metrics are also counted in: "command.<name>",
/// "ability.<name>" for each Bench2Drive ability of its clip's scenario.
std::vector<std::string> frame_groups(const std::string& clip, int64_t command);

class Evaluator {
 public:
  explicit Evaluator(EvaluatorOptions options);

  /// Feeds one batch and the model's outputs for it. The road users (vehicles, pedestrians,
  /// cyclists) are the collision metrics' agents: the batch's boxes with their velocities, and,
  /// with options.agent_futures, every road user annotated in the frame with its annotated later
  /// boxes (moved by the batch's bev_aug). Detection metrics are kept when the outputs
  /// have a detection heatmap, risk metrics when they have risk logits. Frames with a teacher label
  /// and an object whose teacher risk at its centre exceeds eval.risk_threshold also count in the
  /// planning group "high_risk".
  void add(const data::Batch& batch, const model::E2EOutput& output);

  /// Evaluates `model` on epoch 0 of `loader` (every batch, or options.max_batches): eval mode and
  /// no gradients for the duration (the previous mode is restored), batches moved to the model's
  /// device. Returns metrics().
  MetricSet run(model::E2EModel& model, data::Loader& loader);

  /// eval/frames, then planning/..., detection/... and risk/... (the last two only when the model
  /// produced them), then reference/<planner>/planning/... with options.reference_planners.
  MetricSet metrics() const;

  /// The PNG files written so far.
  const std::vector<std::string>& pictures() const { return pictures_; }
  int64_t frames() const { return frames_; }
  const EvaluatorOptions& options() const { return options_; }

 private:
  bool wants_picture(const std::string& clip, int64_t frame) const;
  // One line per frame of the batch into records_ (frame_records_path).
  void write_frame_records(const data::Batch& batch,
                           const std::vector<std::pair<std::string, torch::Tensor>>& plans,
                           const std::vector<PlanningFrame>& frames);

  EvaluatorOptions options_;
  PlanningAccumulator planning_;
  DetectionAccumulator detection_;
  RiskAccumulator risk_;
  std::map<std::string, PlanningAccumulator> references_;
  std::shared_ptr<std::ofstream> records_;
  bool has_detection_ = false;
  bool has_risk_ = false;
  int64_t frames_ = 0;
  std::set<std::string> picture_frames_;
  std::vector<std::string> pictures_;
};

}  // namespace rsd::eval
