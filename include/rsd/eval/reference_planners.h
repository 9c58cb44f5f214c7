// Reference planners that read only the ego status (no images, no BEV): they tell how much of an
// open-loop score a model could get without seeing the scene (AD-MLP's point, Zhai et al. 2023).
//
//   constant_velocity_waypoints(ego_status, T, 0.5)  // keep speed and yaw rate
//   EgoLinearPlanner planner; planner.add(ego_status, command, future, mask) ...; planner.fit();
//   planner.predict(ego_status, command)             // (B, T, 2)
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace rsd::eval {

/// (B, T, 2): where the ego is at t_k = (k+1) * step_s when it keeps its current speed
/// (data::kEgoSpeed) and yaw rate (data::kEgoAngularVelocityZ): a circular arc, a straight line
/// for a yaw rate under 1e-6 rad/s. `ego_status` (B, data::kEgoStatusDim); follows its options.
torch::Tensor constant_velocity_waypoints(const torch::Tensor& ego_status, int64_t steps,
                                          double step_s);

/// The ego-status-only planner of the study: waypoints as a linear function of the ego status,
/// the one-hot driving command and 1, fitted by ridge-regularised least squares on frames whose
/// whole future has ground truth (a closed-form stand-in for AD-MLP's MLP: same inputs, no
/// hidden layer, no training loop). Streaming: add() keeps only the normal equations.
class EgoLinearPlanner {
 public:
  /// ego_status (B, kEgoStatusDim), command (B) int64, future (B, T, 2), mask (B, T) bool.
  /// Throws rsd::Error when T differs from earlier batches.
  void add(const torch::Tensor& ego_status, const torch::Tensor& command,
           const torch::Tensor& future, const torch::Tensor& mask);
  /// Solves the normal equations (ridge 1e-6 of their mean diagonal). Throws rsd::Error when no
  /// full-future frame was added.
  void fit();
  bool fitted() const { return weights_.defined(); }
  int64_t frames() const { return frames_; }
  /// (B, T, 2) with the options of `ego_status`; throws rsd::Error before fit().
  torch::Tensor predict(const torch::Tensor& ego_status, const torch::Tensor& command) const;

 private:
  static torch::Tensor features(const torch::Tensor& ego_status, const torch::Tensor& command);

  torch::Tensor gram_;     // F x F, double
  torch::Tensor moment_;   // F x 2T, double
  torch::Tensor weights_;  // F x 2T, double
  int64_t steps_ = -1;
  int64_t frames_ = 0;
};

}  // namespace rsd::eval
