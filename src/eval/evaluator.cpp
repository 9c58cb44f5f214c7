#include "rsd/eval/evaluator.h"

#include <Eigen/Geometry>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "frame_pictures.h"
#include "rsd/data/frame.h"
#include "rsd/data/frame_reader.h"
#include "rsd/eval/abilities.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"
#include "rsd/util/progress.h"

namespace rsd::eval {
namespace {

// The agents a planned trajectory can collide with: road users, not traffic lights and signs
// (whose boxes stand above the road or beside it).
bool is_road_user(int64_t object_class) {
  return object_class == static_cast<int64_t>(data::ObjectClass::vehicle) ||
         object_class == static_cast<int64_t>(data::ObjectClass::pedestrian) ||
         object_class == static_cast<int64_t>(data::ObjectClass::cyclist);
}

Footprint footprint_of(const data::Box& box) {
  return {box.center.head<2>(), box.size.x(), box.size.y(), box.yaw};
}

// For each of `steps` future steps, the footprints of the frame's road users as annotated then,
// in the batch's (augmented) ego frame `augmentation` maps the ego frame into. Like
// Bench2DriveZoo's get_label, each keeps the size it has now.
std::vector<std::vector<Footprint>> agent_future_footprints(const std::vector<AgentFuture>& agents,
                                                            const Eigen::Matrix4d& augmentation,
                                                            int64_t steps) {
  std::vector<std::vector<Footprint>> futures(static_cast<size_t>(steps));
  const Eigen::Matrix3d rotation = augmentation.topLeftCorner<3, 3>();
  for (const AgentFuture& agent : agents) {
    if (!is_road_user(static_cast<int64_t>(agent.now.object_class))) continue;
    RSD_CHECK(static_cast<int64_t>(agent.later.size()) == steps, "agent futures cover ",
              agent.later.size(), " steps but the model predicts ", steps,
              " waypoints (data.waypoints.future_steps)");
    for (int64_t k = 0; k < steps; ++k) {
      const std::optional<data::Box>& later = agent.later[static_cast<size_t>(k)];
      if (!later) continue;
      const Eigen::Vector3d center = (augmentation * later->center.homogeneous()).head<3>();
      const Eigen::Vector3d heading =
          rotation * Eigen::Vector3d(std::cos(later->yaw), std::sin(later->yaw), 0.0);
      futures[static_cast<size_t>(k)].push_back({center.head<2>(), agent.now.size.x(),
                                                 agent.now.size.y(),
                                                 std::atan2(heading.y(), heading.x())});
    }
  }
  return futures;
}

// The ground-truth boxes of frame b of a batch (box_mask true), as data::Box.
std::vector<data::Box> frame_boxes(const torch::TensorAccessor<double, 3>& boxes,
                                   const torch::TensorAccessor<int64_t, 2>& classes,
                                   const torch::TensorAccessor<bool, 2>& mask, int64_t b) {
  std::vector<data::Box> result;
  for (int64_t m = 0; m < mask.size(1); ++m) {
    if (!mask[b][m]) continue;
    const auto row = boxes[b][m];
    data::Box box;
    box.object_class = static_cast<data::ObjectClass>(classes[b][m]);
    box.center = {row[data::kBoxX], row[data::kBoxY], row[data::kBoxZ]};
    box.size = {row[data::kBoxLength], row[data::kBoxWidth], row[data::kBoxHeight]};
    box.yaw = row[data::kBoxYaw];
    box.velocity = {row[data::kBoxVelocityX], row[data::kBoxVelocityY]};
    result.push_back(std::move(box));
  }
  return result;
}

// Restores a module's training mode when the evaluation ends, however it ends.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(torch::nn::Module& module)
      : module_(module), was_training_(module.is_training()) {
    module_.eval();
  }
  ~EvalModeGuard() { module_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

std::string picture_name(const std::string& clip, int64_t frame, const char* kind) {
  char number[32];
  std::snprintf(number, sizeof(number), "%05lld", static_cast<long long>(frame));
  return clip + "_" + number + "_" + kind + ".png";
}

}  // namespace

std::vector<std::string> frame_groups(const std::string& clip, int64_t command) {
  std::vector<std::string> groups;
  if (command >= 0 && command < data::kNumCommands) {
    groups.push_back(std::string("command.") +
                     data::to_string(static_cast<data::Command>(command)));
  }
  for (const std::string& ability : abilities_of_clip(clip)) groups.push_back("ability." + ability);
  return groups;
}

Evaluator::Evaluator(EvaluatorOptions options)
    : options_(std::move(options)),
      planning_(options_.planning),
      detection_(options_.detection),
      risk_(options_.risk, options_.grid),
      picture_frames_(options_.picture_frames.begin(), options_.picture_frames.end()) {
  if (!options_.frame_records_path.empty()) {
    const std::filesystem::path path(options_.frame_records_path);
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    records_ = std::make_shared<std::ofstream>(path);
    if (!*records_) throw Error("cannot write the frame records " + path.string());
  }
}

void Evaluator::write_frame_records(
    const data::Batch& batch, const std::vector<std::pair<std::string, torch::Tensor>>& plans,
    const std::vector<PlanningFrame>& frames) {
  const std::string prefix = "planning/all/";
  for (std::size_t b = 0; b < frames.size(); ++b) {
    nlohmann::json line;
    line["clip"] = batch.clips[b];
    line["frame"] = batch.frames[b];
    line["groups"] = frames[b].groups;
    const auto index = static_cast<int64_t>(b);
    for (const auto& [name, waypoints] : plans) {
      // The frame alone in an accumulator: the same definitions as the split's metrics, whose
      // frame means these are.
      PlanningAccumulator single(options_.planning);
      PlanningFrame frame = frames[b];
      frame.groups.clear();
      single.add_batch(waypoints.slice(0, index, index + 1),
                       batch.future_waypoints.slice(0, index, index + 1),
                       batch.future_mask.slice(0, index, index + 1), {std::move(frame)});
      nlohmann::json values;
      const MetricSet frame_metrics = single.metrics();
      for (const auto& [metric, value] : frame_metrics.entries()) {
        if (metric.rfind(prefix, 0) != 0) continue;
        values[metric.substr(prefix.size())] =
            std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
      }
      line[name] = std::move(values);
    }
    *records_ << line.dump() << '\n';
  }
  records_->flush();
}

bool Evaluator::wants_picture(const std::string& clip, int64_t frame) const {
  if (options_.picture_dir.empty()) return false;
  if (!picture_frames_.empty())
    return picture_frames_.count(clip + "/" + std::to_string(frame)) > 0;
  // Two pictures (BEV, camera) per rendered frame.
  return static_cast<int64_t>(pictures_.size()) / 2 < options_.pictures;
}

void Evaluator::add(const data::Batch& batch, const model::E2EOutput& output) {
  const int64_t size = batch.size();
  RSD_CHECK(output.waypoints.defined() && output.waypoints.size(0) == size,
            "the model's waypoints must cover the batch of ", size, " frames");
  const torch::Tensor boxes = batch.boxes.to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor classes = batch.box_classes.to(torch::kCPU, torch::kLong).contiguous();
  const torch::Tensor mask = batch.box_mask.to(torch::kCPU, torch::kBool).contiguous();
  const torch::Tensor commands = batch.command.to(torch::kCPU, torch::kLong).contiguous();
  const torch::Tensor risk_mask = batch.risk_mask.to(torch::kCPU, torch::kBool).contiguous();
  const torch::Tensor teacher = batch.risk_target.to(torch::kCPU, torch::kFloat);
  const auto box_rows = boxes.accessor<double, 3>();
  const auto class_rows = classes.accessor<int64_t, 2>();
  const auto mask_rows = mask.accessor<bool, 2>();

  const bool with_risk = output.risk_logits.defined();
  const torch::Tensor student =
      with_risk ? torch::sigmoid(output.risk_logits.detach().to(torch::kCPU, torch::kFloat))
                : torch::Tensor();
  const bool with_detection = output.detection.heatmap.defined();
  std::vector<std::vector<model::Detection>> detections;
  if (with_detection) {
    detections = model::decode_detections(output.detection, options_.grid,
                                          options_.detection.classes, options_.decode);
  }

  const torch::Tensor bev_aug = batch.bev_aug.to(torch::kCPU, torch::kDouble).contiguous();
  const auto bev_aug_rows = bev_aug.accessor<double, 3>();
  const torch::Tensor future_mask_cpu = batch.future_mask.to(torch::kCPU, torch::kBool);
  const int64_t steps = output.waypoints.size(1);
  std::vector<PlanningFrame> frames(size);
  std::vector<std::vector<Eigen::Vector2d>> centers(size);
  std::vector<std::vector<data::Box>> ground_truth(size);
  for (int64_t b = 0; b < size; ++b) {
    PlanningFrame& frame = frames[b];
    ground_truth[b] = frame_boxes(box_rows, class_rows, mask_rows, b);
    for (const data::Box& box : ground_truth[b]) {
      centers[b].push_back(box.center.head<2>());
      if (is_road_user(static_cast<int64_t>(box.object_class))) {
        frame.obstacles.push_back({footprint_of(box), box.velocity});
      }
    }
    // Only frames whose whole future has ground truth count for the ST-P3 metric.
    const bool full_future = future_mask_cpu[b].all().item<bool>();
    if (options_.agent_futures && full_future) {
      Eigen::Matrix4d augmentation;
      for (int r = 0; r < 4; ++r) {
        for (int c = 0; c < 4; ++c) augmentation(r, c) = bev_aug_rows[b][r][c];
      }
      frame.agent_futures = agent_future_footprints(
          options_.agent_futures->read(batch.clips[b], batch.frames[b]), augmentation, steps);
    }
    std::vector<std::string>& groups = frame.groups;
    groups = frame_groups(batch.clips[b], commands[b].item<int64_t>());
    if (risk_mask[b].item<bool>()) {
      const std::vector<double> teacher_values =
          map_values_at(teacher[b][0], options_.grid, centers[b]);
      const bool near_high_risk =
          std::any_of(teacher_values.begin(), teacher_values.end(),
                      [&](double value) { return value > options_.risk.threshold; });
      if (near_high_risk) groups.push_back("high_risk");
    }
    if (with_detection) detection_.add_frame(detections[b], ground_truth[b]);
  }
  std::vector<std::pair<std::string, torch::Tensor>> plans = {{"model", output.waypoints.detach()}};
  if (options_.reference_planners) {
    const torch::Tensor ego_status = batch.ego_status.to(torch::kCPU, torch::kFloat);
    plans.emplace_back("constant_velocity",
                       constant_velocity_waypoints(ego_status, steps, options_.planning.step_s));
    if (options_.ego_linear) {
      plans.emplace_back("ego_linear", options_.ego_linear->predict(ego_status, batch.command));
    }
  }
  for (std::size_t p = 1; p < plans.size(); ++p) {
    references_.try_emplace(plans[p].first, options_.planning)
        .first->second.add_batch(plans[p].second, batch.future_waypoints, batch.future_mask,
                                 frames);
  }
  if (records_) write_frame_records(batch, plans, frames);
  planning_.add_batch(output.waypoints, batch.future_waypoints, batch.future_mask,
                      std::move(frames));
  if (with_risk) risk_.add_batch(student, teacher, risk_mask, centers);
  has_detection_ = has_detection_ || with_detection;
  has_risk_ = has_risk_ || with_risk;

  const torch::Tensor predicted = output.waypoints.detach().to(torch::kCPU, torch::kDouble);
  const torch::Tensor target = batch.future_waypoints.to(torch::kCPU, torch::kDouble);
  const torch::Tensor target_mask = batch.future_mask.to(torch::kCPU, torch::kBool);
  for (int64_t b = 0; b < size; ++b) {
    ++frames_;
    if (!wants_picture(batch.clips[b], batch.frames[b])) continue;
    std::vector<Eigen::Vector2d> predicted_path, target_path;
    for (int64_t k = 0; k < predicted.size(1); ++k) {
      predicted_path.emplace_back(predicted[b][k][0].item<double>(),
                                  predicted[b][k][1].item<double>());
      if (target_mask[b][k].item<bool>()) {
        target_path.emplace_back(target[b][k][0].item<double>(), target[b][k][1].item<double>());
      }
    }
    const int64_t command = commands[b].item<int64_t>();
    // The clip name alone fills a narrow picture's width: frame and command go on a second line.
    const std::vector<std::string> caption = {
        batch.clips[b], "frame " + std::to_string(batch.frames[b]) + ", command " +
                            (command >= 0 && command < data::kNumCommands
                                 ? data::to_string(static_cast<data::Command>(command))
                                 : std::to_string(command))};

    detail::BevScene bev;
    if (risk_mask[b].item<bool>()) bev.teacher_risk = teacher[b][0];
    if (with_risk) bev.student_risk = student[b][0];
    for (const data::Box& box : ground_truth[b])
      bev.ground_truth_boxes.push_back(footprint_of(box));
    if (with_detection) {
      for (const model::Detection& detection : detections[b]) {
        bev.predicted_boxes.push_back(footprint_of(detection.box));
      }
    }
    bev.ground_truth_trajectory = target_path;
    bev.predicted_trajectory = predicted_path;
    bev.ego = {Eigen::Vector2d::Zero(), options_.planning.ego_length, options_.planning.ego_width,
               0.0};
    bev.caption = caption;
    const std::string bev_path =
        options_.picture_dir + "/" + picture_name(batch.clips[b], batch.frames[b], "bev");
    detail::write_png(bev_path, detail::render_bev(bev, options_.grid,
                                                   static_cast<int>(options_.picture_cell_pixels)));
    pictures_.push_back(bev_path);

    const int64_t camera = options_.picture_camera;
    RSD_CHECK(camera < batch.images.size(1), "picture camera ", camera, " but the batch has ",
              batch.images.size(1), " cameras");
    detail::CameraScene view;
    view.image = batch.images[b][camera];
    view.intrinsics = batch.intrinsics[b][camera];
    view.img_aug = batch.img_aug[b][camera];
    view.cam2ego = batch.cam2ego[b][camera];
    view.ground_truth_trajectory = target_path;
    view.predicted_trajectory = predicted_path;
    view.caption = caption;
    const std::string camera_path =
        options_.picture_dir + "/" + picture_name(batch.clips[b], batch.frames[b], "camera");
    detail::write_png(camera_path, detail::render_camera(view));
    pictures_.push_back(camera_path);
  }
}

MetricSet Evaluator::run(model::E2EModel& model, data::Loader& loader) {
  torch::NoGradGuard no_grad;
  EvalModeGuard eval_mode(*model);
  const std::vector<torch::Tensor> parameters = model->parameters();
  const torch::Device device =
      parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();

  int64_t total = loader.batches_per_epoch();
  if (options_.max_batches > 0) total = std::min(total, options_.max_batches);
  ProgressOptions progress_options;
  progress_options.enabled = options_.progress;
  ProgressBar progress("eval", total, progress_options);
  loader.start_epoch(0);
  int64_t batches = 0;
  while (batches < total) {
    std::optional<data::Batch> batch = loader.next();
    if (!batch) break;
    const model::E2EOutput output = model->forward(device.is_cpu() ? *batch : batch->to(device));
    add(*batch, output);
    ++batches;
    progress.advance();
    progress.set_status(std::to_string(frames_) + " frames");
  }
  progress.finish();
  if (batches == 0)
    logging::warn("evaluation: the loader yielded no batch; every metric is undefined");
  return metrics();
}

MetricSet Evaluator::metrics() const {
  MetricSet metrics;
  metrics.set("eval/frames", static_cast<double>(frames_));
  metrics.merge(planning_.metrics());
  if (has_detection_) metrics.merge(detection_.metrics());
  if (has_risk_) metrics.merge(risk_.metrics());
  for (const auto& [name, reference] : references_) {
    const MetricSet reference_metrics = reference.metrics();
    for (const auto& [metric, value] : reference_metrics.entries()) {
      metrics.set("reference/" + name + "/" + metric, value);
    }
  }
  return metrics;
}

}  // namespace rsd::eval
