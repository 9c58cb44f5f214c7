#include "rsd/eval/reference_planners.h"

#include <torch/torch.h>

#include "rsd/data/batch.h"
#include "rsd/data/frame.h"
#include "rsd/util/error.h"

namespace rsd::eval {

torch::Tensor constant_velocity_waypoints(const torch::Tensor& ego_status, int64_t steps,
                                          double step_s) {
  const torch::Tensor speed = ego_status.select(1, data::kEgoSpeed).unsqueeze(1);       // (B, 1)
  const torch::Tensor yaw_rate = ego_status.select(1, data::kEgoAngularVelocityZ).unsqueeze(1);
  const torch::Tensor t = torch::arange(1, steps + 1, ego_status.options()).unsqueeze(0) * step_s;
  const torch::Tensor turning = yaw_rate.abs() > 1e-6;
  // A straight-driving frame divides by 1, not 0: where() would keep the other branch's NaN out,
  // but not its floating-point exceptions under sanitizers.
  const torch::Tensor safe_rate = torch::where(turning, yaw_rate, torch::ones_like(yaw_rate));
  const torch::Tensor angle = safe_rate * t;
  const torch::Tensor arc_x = speed / safe_rate * torch::sin(angle);
  const torch::Tensor arc_y = speed / safe_rate * (1 - torch::cos(angle));
  const torch::Tensor x = torch::where(turning, arc_x, speed * t);
  const torch::Tensor y = torch::where(turning, arc_y, torch::zeros_like(arc_y));
  return torch::stack({x, y}, 2);
}

torch::Tensor EgoLinearPlanner::features(const torch::Tensor& ego_status,
                                         const torch::Tensor& command) {
  const torch::Tensor status = ego_status.to(torch::kCPU, torch::kDouble);
  const torch::Tensor one_hot =
      torch::one_hot(command.to(torch::kCPU, torch::kLong).clamp(0, data::kNumCommands - 1),
                     data::kNumCommands)
          .to(torch::kDouble);
  return torch::cat({status, one_hot, torch::ones({status.size(0), 1}, status.options())}, 1);
}

void EgoLinearPlanner::add(const torch::Tensor& ego_status, const torch::Tensor& command,
                           const torch::Tensor& future, const torch::Tensor& mask) {
  const int64_t steps = future.size(1);
  if (steps_ >= 0 && steps != steps_) {
    throw Error("EgoLinearPlanner: batches of " + std::to_string(steps_) + " and " +
                std::to_string(steps) + " waypoints");
  }
  steps_ = steps;
  const torch::Tensor full = mask.to(torch::kCPU, torch::kBool).all(1);
  const torch::Tensor x = features(ego_status, command).index({full});
  const torch::Tensor y =
      future.to(torch::kCPU, torch::kDouble).reshape({future.size(0), -1}).index({full});
  if (!gram_.defined()) {
    gram_ = torch::zeros({x.size(1), x.size(1)}, x.options());
    moment_ = torch::zeros({x.size(1), y.size(1)}, x.options());
  }
  gram_ += x.t().matmul(x);
  moment_ += x.t().matmul(y);
  frames_ += x.size(0);
}

void EgoLinearPlanner::fit() {
  if (frames_ == 0) throw Error("EgoLinearPlanner: no frame with a full future to fit on");
  const double ridge = 1e-6 * gram_.diagonal().mean().item<double>() + 1e-12;
  const torch::Tensor regularised =
      gram_ + ridge * torch::eye(gram_.size(0), gram_.options());
  weights_ = torch::linalg_solve(regularised, moment_);
}

torch::Tensor EgoLinearPlanner::predict(const torch::Tensor& ego_status,
                                        const torch::Tensor& command) const {
  if (!fitted()) throw Error("EgoLinearPlanner::predict before fit()");
  return features(ego_status, command)
      .matmul(weights_)
      .reshape({ego_status.size(0), steps_, 2})
      .to(ego_status.options());
}

}  // namespace rsd::eval
