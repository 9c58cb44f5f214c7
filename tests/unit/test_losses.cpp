// The model's losses against values computed by hand, their masks, and a few optimiser steps that
// must lower each of them.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "rsd/model/detection_head.h"
#include "rsd/model/detection_loss.h"
#include "rsd/model/detection_targets.h"
#include "rsd/model/focal_loss.h"
#include "rsd/model/gt_boxes.h"
#include "rsd/model/planning_head.h"
#include "rsd/model/planning_loss.h"
#include "rsd/model/risk_head.h"
#include "rsd/model/risk_loss.h"
#include "support/fixtures.h"

namespace {

using namespace rsd::model;
using rsd::data::ObjectClass;
using rsd::test::make_box;
using rsd::test::tiny_grid;

const double kLn2 = std::log(2.0);
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// 1 at the centre, 0.5 at its 4 neighbours, 0 at the corners.
torch::Tensor cross_target() {
  return torch::tensor({0.0f, 0.5f, 0.0f, 0.5f, 1.0f, 0.5f, 0.0f, 0.5f, 0.0f}).view({1, 1, 3, 3});
}

// The loss has a graph, and its gradient is finite.
void expect_finite_gradient(const torch::Tensor& loss, const torch::Tensor& input) {
  ASSERT_TRUE(loss.requires_grad());
  ASSERT_TRUE(loss.grad_fn() != nullptr);
  const torch::Tensor grad = torch::autograd::grad({loss}, {input})[0];
  EXPECT_TRUE(torch::isfinite(grad).all().item<bool>());
}

// ---------------------------------------------------------------- focal

TEST(LossFocal, ThreeByThreeAtZeroLogitsMatchesTheHandValue) {
  // p = 0.5 everywhere. Centre (positive): (1 - p)^2 * ln 2 = 0.25 ln 2. The four t = 0.5 cells:
  // (1 - 0.5)^4 * p^2 * ln 2 each = 0.015625 ln 2; the four t = 0 corners: 0.25 ln 2 each.
  // Sum 0.25 + 4 * 0.015625 + 4 * 0.25 = 1.3125 (times ln 2), over one positive.
  const torch::Tensor logits = torch::zeros({1, 1, 3, 3});
  EXPECT_NEAR(penalty_reduced_focal_loss(logits, cross_target()).item<double>(), 1.3125 * kLn2,
              1e-6);
}

TEST(LossFocal, MatchesAScalarReferenceForArbitraryLogits) {
  const std::vector<float> logit_values = {0.3f, -1.2f, 2.0f, -0.4f, 1.5f, 0.0f, -3.0f, 0.8f, -0.1f};
  const torch::Tensor logits = torch::tensor(logit_values).view({1, 1, 3, 3});
  const torch::Tensor target = cross_target();
  double expected = 0.0;
  for (int i = 0; i < 9; ++i) {
    const double p = 1.0 / (1.0 + std::exp(-logit_values[i]));
    const double t = target.flatten()[i].item<double>();
    expected += t == 1.0 ? -std::pow(1 - p, 2) * std::log(p)
                         : -std::pow(1 - t, 4) * std::pow(p, 2) * std::log(1 - p);
  }
  EXPECT_NEAR(penalty_reduced_focal_loss(logits, target).item<double>(), expected, 1e-5);
  // Extreme logits stay finite (log-sigmoid, no clamping).
  const torch::Tensor extreme = torch::tensor({-200.0f, 200.0f}).view({1, 2}).requires_grad_();
  const torch::Tensor loss =
      penalty_reduced_focal_loss(extreme, torch::tensor({1.0f, 0.0f}).view({1, 2}));
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  expect_finite_gradient(loss, extreme);
}

// ---------------------------------------------------------------- detection

TEST(LossDetection, HeatmapFocalPlusWeightedL1AtTheCentreCells) {
  DetectionOutput output;
  output.heatmap = torch::zeros({1, 1, 2, 2}, torch::requires_grad());
  output.regression = torch::zeros({1, box_code::kChannels, 2, 2}, torch::requires_grad());
  DetectionTargets targets;
  targets.heatmap = torch::tensor({1.0f, 0.0f, 0.0f, 0.0f}).view({1, 1, 2, 2});
  targets.indices = torch::tensor({3, 1}, torch::kLong).view({1, 2});
  targets.regression = torch::ones({1, 2, box_code::kChannels});
  targets.regression[0][1].fill_(kNaN);  // a padding slot: never read
  targets.mask = torch::tensor({true, false}).view({1, 2});
  const DetectionLosses losses = detection_loss(output, targets);
  // Heatmap: 0.25 ln 2 at the positive + 3 negatives at t = 0: 0.25 ln 2 each -> ln 2.
  EXPECT_NEAR(losses.heatmap.item<double>(), kLn2, 1e-6);
  // Regression: |0 - 1| per channel times the code weights (8 * 1 + 2 * 0.2), one object.
  EXPECT_NEAR(losses.regression.item<double>(), 8.4, 1e-5);
  EXPECT_NEAR(losses.total.item<double>(), kLn2 + 0.25 * 8.4, 1e-5);
  expect_finite_gradient(losses.total, output.regression);
}

TEST(LossDetection, AdamStepsLowerTheLoss) {
  torch::manual_seed(0);
  const rsd::GridSpec grid = tiny_grid();
  const GtBoxes boxes = gt_boxes_from(
      {{make_box(ObjectClass::vehicle, {1.2, -0.7, 0.5}, {4.0, 1.8, 1.5}, 0.3, {3.0, 0.0}),
        make_box(ObjectClass::pedestrian, {-2.1, 2.6, 0.5}, {0.6, 0.6, 1.5}, 1.0)}},
      default_detection_classes());
  const DetectionTargets targets = build_detection_targets(boxes, 3, grid);
  DetectionHead head(DetectionHeadOptions(8, 3).hidden(16));
  const torch::Tensor bev = torch::randn({1, 8, 16, 16});
  torch::optim::Adam optimizer(head->parameters(), torch::optim::AdamOptions(1e-2));
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 40; ++step) {
    const DetectionLosses losses = detection_loss(head(bev), targets);
    optimizer.zero_grad();
    losses.total.backward();
    optimizer.step();
    (step == 0 ? first : last) = losses.total.item<double>();
  }
  EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
}

// ---------------------------------------------------------------- planning

TEST(LossPlanning, L1AveragesTheValidWaypointCoordinatesAndIgnoresTheOthers) {
  const torch::Tensor predicted =
      torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}).view({1, 3, 2}).requires_grad_();
  const torch::Tensor target = torch::tensor({1.5f, 2.0f, 3.0f, 3.0f, kNaN, kNaN}).view({1, 3, 2});
  const torch::Tensor mask = torch::tensor({true, true, false}).view({1, 3});
  // (0.5 + 0 + 0 + 1) over 2 waypoints * 2 coordinates.
  const torch::Tensor loss = planning_l1_loss(predicted, target, mask);
  EXPECT_NEAR(loss.item<double>(), 1.5 / 4.0, 1e-6);
  expect_finite_gradient(loss, predicted);
  const torch::Tensor none = planning_l1_loss(predicted, target, torch::zeros({1, 3}));
  EXPECT_EQ(none.item<double>(), 0.0);
  expect_finite_gradient(none, predicted);
}

TEST(LossPlanning, CollisionPenalisesWaypointsInsideOrNearMovingBoxes) {
  CollisionLossOptions options;
  options.step_seconds = 0.5;
  options.margin = 1.0;
  const torch::Tensor waypoints =
      torch::tensor({5.0f, 0.5f, 5.0f, 1.5f, 10.0f, 0.0f, 5.0f, 0.0f}).view({1, 4, 2}).requires_grad_();
  const torch::Tensor mask = torch::tensor({1.0f, 1.0f, 1.0f, 0.0f}).view({1, 4});
  // A static 4 x 2 m box at (5, 0): waypoint 0 is 0.5 m inside (penalty 1 + 0.5), waypoint 1 is
  // 0.5 m beside it (1 - 0.5), waypoint 2 is 3 m ahead (0); waypoint 3 is masked out.
  const GtBoxes still = gt_boxes_from(
      {{make_box(ObjectClass::vehicle, {5.0, 0.0, 0.5}, {4.0, 2.0, 1.5}, 0.0)}},
      default_detection_classes());
  const torch::Tensor loss = collision_loss(waypoints, still, mask, options);
  EXPECT_NEAR(loss.item<double>(), (1.5 + 0.5 + 0.0) / 3.0, 1e-5);
  expect_finite_gradient(loss, waypoints);
  // Moving at 2 m/s along x, the box is centred at 6, 7, 8 for waypoints 0, 1, 2: penalties
  // 1.5 (0.5 m inside across), 0.5 (0.5 m beside its rear corner line), 1 (on its front edge).
  const GtBoxes moving = gt_boxes_from(
      {{make_box(ObjectClass::vehicle, {5.0, 0.0, 0.5}, {4.0, 2.0, 1.5}, 0.0, {2.0, 0.0})}},
      default_detection_classes());
  EXPECT_NEAR(collision_loss(waypoints, moving, mask, options).item<double>(), 3.0 / 3.0, 1e-5);
  // Rotated by 90 degrees, a 4 x 2 box at (0, 5) covers x in [-1, 1], y in [3, 7].
  const GtBoxes turned = gt_boxes_from(
      {{make_box(ObjectClass::cyclist, {0.0, 5.0, 0.5}, {4.0, 2.0, 1.5}, M_PI / 2)}},
      default_detection_classes());
  const torch::Tensor inside = torch::tensor({0.5f, 6.5f}).view({1, 1, 2});
  EXPECT_NEAR(collision_loss(inside, turned, torch::ones({1, 1}), options).item<double>(), 1.5,
              1e-5);
  // Padding slots of a frame with fewer boxes add nothing.
  const GtBoxes padded = gt_boxes_from(
      {{make_box(ObjectClass::vehicle, {5.0, 0.0, 0.5}, {4.0, 2.0, 1.5}, 0.0),
        make_box(ObjectClass::vehicle, {20.0, 0.0, 0.5}, {4.0, 2.0, 1.5}, 0.0)},
       {}},
      default_detection_classes());
  const torch::Tensor two = torch::zeros({2, 1, 2});
  EXPECT_NEAR(collision_loss(two, padded, torch::ones({2, 1}), options).item<double>(), 0.0, 1e-6);
}

TEST(LossPlanning, AdamStepsLowerTheLoss) {
  torch::manual_seed(0);
  PlanningHead head(
      PlanningHeadOptions(8, tiny_grid()).horizon(6).ego_status_dim(4).hidden(32).heads(4));
  const torch::Tensor bev = torch::randn({2, 8, 16, 16});
  const torch::Tensor status = torch::randn({2, 4});
  const torch::Tensor command = torch::tensor({2, 0}, torch::kLong);
  const torch::Tensor steps = torch::arange(1, 7, torch::kFloat);
  const torch::Tensor target =
      torch::stack({torch::stack({steps * 1.5, torch::zeros(6)}, 1),
                    torch::stack({steps, steps * 0.3}, 1)});
  const torch::Tensor mask = torch::ones({2, 6});
  torch::optim::Adam optimizer(head->parameters(), torch::optim::AdamOptions(3e-3));
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 40; ++step) {
    const torch::Tensor loss = planning_l1_loss(head(bev, status, command), target, mask);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
}

// ---------------------------------------------------------------- risk distillation

TEST(LossRisk, L1AndMseAverageCellsOverLabelledFramesOnly) {
  const torch::Tensor logits = torch::zeros({2, 1, 2, 2}, torch::requires_grad());  // sigmoid 0.5
  const torch::Tensor target =
      torch::tensor({0.0f, 1.0f, 0.5f, 0.25f, kNaN, kNaN, kNaN, kNaN}).view({2, 2, 2});
  const torch::Tensor mask = torch::tensor({true, false});
  RiskDistillationLoss l1;
  // |0.5 - t| = 0.5, 0.5, 0, 0.25 -> 0.3125; the unlabelled frame (NaN targets) adds nothing.
  const torch::Tensor l1_loss = l1(logits, target, mask);
  EXPECT_NEAR(l1_loss.item<double>(), 0.3125, 1e-6);
  expect_finite_gradient(l1_loss, logits);
  RiskDistillationLoss mse(RiskDistillationLossOptions().type(RiskLossType::mse));
  // 0.25, 0.25, 0, 0.0625 -> 0.140625.
  EXPECT_NEAR(mse(logits, target, mask).item<double>(), 0.140625, 1e-6);
}

TEST(LossRisk, FocalVariantMatchesTheHandValueAndSkipsUnlabelledFrames) {
  const torch::Tensor logits = torch::zeros({2, 1, 3, 3}, torch::requires_grad());
  const torch::Tensor target = torch::cat({cross_target(), torch::ones({1, 1, 3, 3})});
  RiskDistillationLoss focal(RiskDistillationLossOptions().type(RiskLossType::focal));
  const torch::Tensor loss = focal(logits, target, torch::tensor({1.0f, 0.0f}));
  EXPECT_NEAR(loss.item<double>(), 1.3125 * kLn2, 1e-6);  // as LossFocal's hand value
  expect_finite_gradient(loss, logits);
}

TEST(LossRisk, SpatialKlMatchesTheHandValueAndSkipsEmptyMaps) {
  // Frame 0: p = softmax(0, ln 2, 0, 0) = (1, 2, 1, 1) / 5; q = (1, 1, 0, 0) / 2.
  // KL(q || p) = 0.5 ln(0.5 / 0.2) + 0.5 ln(0.5 / 0.4). Frame 1 is unlabelled; frame 2 is labelled
  // but all zero (no distribution): both are skipped.
  const torch::Tensor logits =
      torch::tensor({0.0, kLn2, 0.0, 0.0, 3.0, 1.0, 2.0, 0.0, 1.0, 1.0, 5.0, 0.0})
          .to(torch::kFloat)
          .view({3, 1, 2, 2})
          .requires_grad_();
  const torch::Tensor target =
      torch::tensor({1.0f, 1.0f, 0.0f, 0.0f, kNaN, kNaN, kNaN, kNaN, 0.0f, 0.0f, 0.0f, 0.0f})
          .view({3, 1, 2, 2});
  RiskDistillationLoss kl(RiskDistillationLossOptions().type(RiskLossType::kl));
  const torch::Tensor loss = kl(logits, target, torch::tensor({true, false, true}));
  EXPECT_NEAR(loss.item<double>(), 0.5 * std::log(2.5) + 0.5 * std::log(1.25), 1e-6);
  expect_finite_gradient(loss, logits);
}

TEST(LossRisk, ABatchWithoutLabelledFramesGivesZeroWithAGraph) {
  const torch::Tensor logits = torch::randn({2, 1, 4, 4}).requires_grad_();
  const torch::Tensor target = torch::full({2, 1, 4, 4}, kNaN);
  for (const auto type : {RiskLossType::l1, RiskLossType::mse, RiskLossType::focal, RiskLossType::kl}) {
    SCOPED_TRACE(to_string(type));
    RiskDistillationLoss loss_fn(RiskDistillationLossOptions().type(type));
    const torch::Tensor loss = loss_fn(logits, target, torch::zeros({2}, torch::kBool));
    EXPECT_EQ(loss.item<double>(), 0.0);
    ASSERT_TRUE(loss.grad_fn() != nullptr);
    const torch::Tensor grad = torch::autograd::grad({loss}, {logits})[0];
    EXPECT_EQ(grad.abs().sum().item<double>(), 0.0);
  }
  EXPECT_THROW(parse_risk_loss_type("huber"), rsd::ConfigError);
  EXPECT_EQ(parse_risk_loss_type("kl"), RiskLossType::kl);
}

TEST(LossRisk, AdamStepsLowerEveryVariant) {
  const rsd::GridSpec grid = tiny_grid();
  // A risk blob around one cell, as the rasteriser writes for a risky object.
  const torch::Tensor rows = torch::arange(16, torch::kFloat).view({16, 1});
  const torch::Tensor cols = torch::arange(16, torch::kFloat).view({1, 16});
  const torch::Tensor blob =
      torch::exp(-((rows - 5).square() + (cols - 9).square()) / 4.0).view({1, 1, 16, 16});
  const torch::Tensor target = torch::cat({blob, blob.flip({2})});
  const torch::Tensor mask = torch::ones({2});
  for (const auto type : {RiskLossType::l1, RiskLossType::mse, RiskLossType::focal, RiskLossType::kl}) {
    SCOPED_TRACE(to_string(type));
    torch::manual_seed(0);
    const torch::Tensor bev = torch::randn({2, 8, 16, 16});
    RiskHead head = make_risk_head(RiskHeadOptions(8, grid).hidden(16));
    RiskDistillationLoss loss_fn(RiskDistillationLossOptions().type(type));
    torch::optim::Adam optimizer(head->parameters(), torch::optim::AdamOptions(1e-2));
    double first = 0.0, last = 0.0;
    for (int step = 0; step < 30; ++step) {
      const torch::Tensor loss = loss_fn(head(bev), target, mask);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      (step == 0 ? first : last) = loss.item<double>();
    }
    EXPECT_LT(last, 0.7 * first) << "first " << first << " last " << last;
  }
}

}  // namespace
