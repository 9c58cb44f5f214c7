// The ego-status-only reference planners of rsd_eval (eval.reference_planners): constant velocity
// follows the arc of the current speed and yaw rate; the least-squares ego planner recovers a
// linear law from ego status and command, and refuses to predict before it is fitted.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "rsd/data/batch.h"
#include "rsd/data/frame.h"
#include "rsd/eval/reference_planners.h"
#include "rsd/util/error.h"

namespace rsd::eval {
namespace {

torch::Tensor status_with(double speed, double yaw_rate) {
  torch::Tensor status = torch::zeros({1, data::kEgoStatusDim});
  status[0][data::kEgoSpeed] = speed;
  status[0][data::kEgoAngularVelocityZ] = yaw_rate;
  return status;
}

TEST(ReferencePlanners, ConstantVelocityDrivesStraightOrOnTheArc) {
  const torch::Tensor straight = constant_velocity_waypoints(status_with(4.0, 0.0), 6, 0.5);
  ASSERT_EQ(straight.sizes(), (std::vector<int64_t>{1, 6, 2}));
  EXPECT_NEAR(straight[0][5][0].item<double>(), 12.0, 1e-5);
  EXPECT_NEAR(straight[0][5][1].item<double>(), 0.0, 1e-6);
  EXPECT_TRUE(torch::isfinite(straight).all().item<bool>());

  // A quarter circle of radius 10 m in pi/2 s, turning left (y > 0).
  const double rate = 1.0, radius = 10.0;
  const torch::Tensor arc =
      constant_velocity_waypoints(status_with(radius * rate, rate), 1, M_PI / 2);
  EXPECT_NEAR(arc[0][0][0].item<double>(), radius, 1e-4);
  EXPECT_NEAR(arc[0][0][1].item<double>(), radius, 1e-4);
  // Every waypoint lies on the circle around (0, radius).
  const torch::Tensor path = constant_velocity_waypoints(status_with(radius * rate, rate), 6, 0.3);
  const torch::Tensor distance =
      (path - torch::tensor({0.0f, static_cast<float>(radius)})).norm(2, -1);
  EXPECT_TRUE(torch::allclose(distance, torch::full_like(distance, radius), 1e-4, 1e-4));
}

TEST(ReferencePlanners, EgoLinearRecoversALinearLaw) {
  torch::manual_seed(3);
  const int64_t frames = 200, steps = 4;
  EgoLinearPlanner planner;
  EXPECT_THROW(planner.predict(torch::zeros({1, data::kEgoStatusDim}), torch::zeros({1}, torch::kLong)),
               Error);
  EXPECT_THROW(planner.fit(), Error);
  auto law = [&](const torch::Tensor& status, const torch::Tensor& command) {
    const torch::Tensor t = torch::arange(1, steps + 1, torch::kFloat).unsqueeze(0) * 0.5;
    const torch::Tensor x = status.select(1, data::kEgoSpeed).unsqueeze(1) * t;
    const torch::Tensor y = (command.to(torch::kFloat) - 2.0).unsqueeze(1) * t;
    return torch::stack({x, y}, 2);
  };
  for (int batch = 0; batch < 4; ++batch) {
    const torch::Tensor status = torch::rand({frames / 4, data::kEgoStatusDim}) * 10;
    const torch::Tensor command = torch::randint(0, data::kNumCommands, {frames / 4}, torch::kLong);
    torch::Tensor mask = torch::ones({frames / 4, steps}, torch::kBool);
    torch::Tensor future = law(status, command);
    // Frames without a full future are not fitted on: garbage there must not matter.
    mask[0][steps - 1] = false;
    future[0] = 1000.0;
    planner.add(status, command, future, mask);
  }
  planner.fit();
  EXPECT_EQ(planner.frames(), frames - 4);
  const torch::Tensor status = torch::rand({5, data::kEgoStatusDim}) * 10;
  const torch::Tensor command = torch::tensor({0, 1, 2, 3, 5}, torch::kLong);
  EXPECT_TRUE(torch::allclose(planner.predict(status, command), law(status, command), 1e-3, 1e-3));
  EXPECT_THROW(planner.add(status, command, torch::zeros({5, steps + 1, 2}),
                           torch::ones({5, steps + 1}, torch::kBool)),
               Error);
}

}  // namespace
}  // namespace rsd::eval
