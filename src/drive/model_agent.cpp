#include "rsd/drive/model_agent.h"

#include <torch/torch.h>

#include "rsd/util/error.h"

namespace rsd::drive {

namespace {

torch::Device parameter_device(model::E2EModel& model) {
  const auto parameters = model->parameters();
  return parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
}

}  // namespace

ModelAgent::ModelAgent(model::E2EModel model, ModelAgentOptions options)
    : model_(std::move(model)), options_(options), controller_(options.controller), device_(parameter_device(model_)) {
  model_->eval();
}

Decision ModelAgent::decide(const Observation& observation) {
  const data::Frame& frame = *observation.frame;
  const model::LiftSplatOptions& lift = model_->options().lift;
  const data::Sample sample = data::inference_sample(frame, observation.images, lift.image_width(), lift.image_height(),
                                                       observation.image_source);
  torch::NoGradGuard no_grad;
  const auto batched = [&](const torch::Tensor& t) { return t.unsqueeze(0).to(device_); };
  const model::E2EOutput out = model_->forward_tensors(
      batched(sample.images), batched(sample.intrinsics), batched(sample.img_aug), batched(sample.cam2ego),
      batched(sample.ego_status), torch::tensor({sample.command}, torch::kInt64).to(device_));
  const torch::Tensor waypoints = out.waypoints[0].to(torch::kCPU, torch::kDouble).contiguous();
  Decision decision;
  const double* w = waypoints.data_ptr<double>();
  for (int64_t k = 0; k < waypoints.size(0); ++k) decision.waypoints.emplace_back(w[2 * k], w[2 * k + 1]);
  if (decision.waypoints.size() < 2) throw Error("the model plans fewer than 2 waypoints: cannot drive");
  decision.control = controller_.control(decision.waypoints, frame.ego.speed, route_target(frame));
  if (out.risk_logits.defined()) {
    decision.risk = torch::sigmoid(out.risk_logits[0][0].to(torch::kCPU, torch::kFloat32)).contiguous();
    decision.risk_grid = lift.grid();
  }
  return decision;
}

}  // namespace rsd::drive
