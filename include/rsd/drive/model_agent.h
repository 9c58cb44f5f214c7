// A trained E2EModel driving: each tick the sample the loader would build (inference_sample, at
// the model's input size) goes through the model; its waypoints go through the waypoint
// controller, its risk map (when it has a RiskHead) to the route's pictures.
#pragma once

#include <torch/types.h>

#include "rsd/drive/driving_agent.h"
#include "rsd/model/e2e_model.h"

namespace rsd::drive {

struct ModelAgentOptions {
  WaypointControllerOptions controller;
};

class ModelAgent : public DrivingAgent {
 public:
  /// The model is put in eval mode; it runs on the device its parameters are on.
  ModelAgent(model::E2EModel model, ModelAgentOptions options);
  std::string name() const override { return "model"; }
  bool needs_images() const override { return true; }
  void reset() override { controller_.reset(); }
  Decision decide(const Observation& observation) override;

 private:
  model::E2EModel model_;
  ModelAgentOptions options_;
  WaypointController controller_;
  torch::Device device_;
};

}  // namespace rsd::drive
