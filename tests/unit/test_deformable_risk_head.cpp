// The deformable RiskHead (issue: the paper's head) and its parts: ego points projected into the
// cameras (the inverse of LiftSplat's frustum), query pillars against a hand computation, the
// cross-view attention reading only the cameras that see a query, zero offsets reducing to
// bilinear sampling at the pillar's projection, and the head inside the E2E model (views passed,
// gradients, training lowers the risk loss).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "rsd/config/config.h"
#include "rsd/data/batch.h"
#include "rsd/geometry/image_projection.h"
#include "rsd/model/deformable_encoder.h"
#include "rsd/model/e2e_model.h"
#include "rsd/model/lift_splat.h"
#include "rsd/model/risk_head.h"
#include "rsd/pipeline/model_config.h"
#include "rsd/train/e2e_loss.h"
#include "rsd/util/error.h"
#include "support/tiny_e2e.h"

namespace {

using rsd::model::CameraViews;
using rsd::model::CrossViewDeformableAttention;
using rsd::model::PillarProjection;
namespace F = torch::nn::functional;

constexpr int64_t kStride = 16;  // the image encoder's output stride

// The tiny E2E rig (a forward and a backward camera 1.5 m up, 48 x 32 pixels, fx = 24) for one
// sample, with image features of `channels` channels (B*N, C, 2, 3).
CameraViews tiny_views(int64_t channels, bool requires_grad = false) {
  const auto sample = rsd::test::TinyE2EDataset(1).get(0, 0);
  CameraViews views;
  views.features = torch::randn({rsd::test::kTinyCameras, channels, 2, 3},
                                torch::TensorOptions().requires_grad(requires_grad));
  views.intrinsics = sample.intrinsics.unsqueeze(0);
  views.img_aug = sample.img_aug.unsqueeze(0);
  views.cam2ego = sample.cam2ego.unsqueeze(0);
  views.image_height = rsd::test::kTinyImageHeight;
  views.image_width = rsd::test::kTinyImageWidth;
  views.stride = kStride;
  return views;
}

TEST(ImageProjection, InvertsLiftSplatsFrustumUnderAugmentation) {
  const auto options = rsd::model::LiftSplatOptions(8, rsd::test::tiny_e2e_grid(), 32, 48)
                           .depth_min(1.0)
                           .depth_max(6.0)
                           .depth_step(1.0)
                           .stride(kStride);
  const auto sample = rsd::test::TinyE2EDataset(1).get(0, 0);
  // Scale 0.9, shift, and a small rotation: img_aug is a general affine map here.
  const double c = 0.9 * std::cos(0.1), s = 0.9 * std::sin(0.1);
  const torch::Tensor img_aug =
      torch::tensor({c, -s, 3.0, s, c, -2.0, 0.0, 0.0, 1.0}, torch::kDouble).view({1, 1, 3, 3})
          .expand({1, 2, 3, 3});
  const torch::Tensor intrinsics = sample.intrinsics.to(torch::kDouble).unsqueeze(0);
  const torch::Tensor cam2ego = sample.cam2ego.to(torch::kDouble).unsqueeze(0);
  const torch::Tensor frustum = rsd::model::make_frustum(options, torch::kDouble);  // (D, fH, fW, 3)
  const torch::Tensor ego = rsd::model::frustum_to_ego(frustum, intrinsics, img_aug, cam2ego);
  for (int64_t camera = 0; camera < 2; ++camera) {
    SCOPED_TRACE(camera);
    const rsd::ImageProjection projection = rsd::project_to_images(
        ego[0][camera].reshape({-1, 3}), intrinsics, img_aug, cam2ego, 32, 48);
    const torch::Tensor expected = frustum.reshape({-1, 3});
    const torch::Tensor pixels = projection.pixels[0][camera];
    EXPECT_TRUE(torch::allclose(pixels, expected.narrow(1, 0, 2), 1e-9, 1e-9));
    EXPECT_TRUE(torch::allclose(projection.depth[0][camera], expected.select(1, 2), 1e-9, 1e-9));
    // Every frustum centre lies inside the 48 x 32 image, in front of its camera.
    EXPECT_TRUE(projection.visible[0][camera].all().item<bool>());
    // The other camera looks the other way: its points are behind this one.
    EXPECT_FALSE(projection.visible[0][1 - camera].any().item<bool>());
  }
}

TEST(ImageProjection, RefusesBadShapes) {
  const CameraViews views = tiny_views(4);
  EXPECT_THROW(rsd::project_to_images(torch::zeros({5, 2}), views.intrinsics, views.img_aug,
                                      views.cam2ego, 32, 48),
               rsd::Error);
  EXPECT_THROW(rsd::project_to_images(torch::zeros({5, 3}), views.intrinsics, views.img_aug,
                                      views.cam2ego.squeeze(0), 32, 48),
               rsd::Error);
}

TEST(DeformableEncoder, QueryPillarsLandWhereTheCameraModelSays) {
  const CameraViews views = tiny_views(4);
  // 8 x 8 queries of 1 m over [-4, 4)^2, heights -1 and 1 (two slices of z in [-2, 2)).
  const PillarProjection pillars =
      rsd::model::project_query_pillars(rsd::test::tiny_e2e_grid(), 8, 8, 2, views);
  ASSERT_EQ(pillars.locations.sizes(), (std::vector<int64_t>{1, 2, 64, 2, 2}));
  // Query at x = 3.5, y = 0.5 (row 4, column 7), height 1, front camera at (0, 0, 1.5):
  // camera x = -y = -0.5, y = 1.5 - z = 0.5, z = x = 3.5 -> u = 24 - 24/7, v = 16 + 24/7,
  // normalised over the 3 x 2 feature map that spans 48 x 32 pixels.
  const int64_t query = 4 * 8 + 7;
  const double u = 24.0 - 24.0 * 0.5 / 3.5, v = 16.0 + 24.0 * 0.5 / 3.5;
  EXPECT_NEAR(pillars.locations[0][0][query][1][0].item<double>(), u / 48.0, 1e-6);
  EXPECT_NEAR(pillars.locations[0][0][query][1][1].item<double>(), v / 32.0, 1e-6);
  EXPECT_TRUE(pillars.visible[0][0][query][1].item<bool>());
  // Height -1: v = 16 + 24 * 2.5 / 3.5 = 33.1, below the image.
  EXPECT_FALSE(pillars.visible[0][0][query][0].item<bool>());
  // The backward camera has it behind itself.
  EXPECT_FALSE(pillars.visible[0][1][query].any().item<bool>());
}

TEST(DeformableEncoder, CrossViewAttentionReadsOnlyTheCamerasThatSeeAQuery) {
  torch::manual_seed(3);
  CameraViews views = tiny_views(8, /*requires_grad=*/true);
  const PillarProjection pillars =
      rsd::model::project_query_pillars(rsd::test::tiny_e2e_grid(), 8, 8, 2, views);
  CrossViewDeformableAttention attention(8, 8, 2, 2, 2);
  const torch::Tensor query = torch::randn({1, 64, 8});
  const torch::Tensor position = torch::zeros({1, 64, 8});
  const int64_t ahead = 4 * 8 + 7;    // x = 3.5, y = 0.5: the front camera only
  const int64_t behind = 4 * 8 + 0;   // x = -3.5, y = 0.5: the back camera only
  const int64_t unseen = 7 * 8 + 4;   // x = 0.5, y = 3.5: beside the car, neither camera
  ASSERT_TRUE(pillars.visible[0][0][ahead].any().item<bool>());
  ASSERT_FALSE(pillars.visible[0][1][ahead].any().item<bool>());
  ASSERT_TRUE(pillars.visible[0][1][behind].any().item<bool>());
  ASSERT_FALSE(pillars.visible[0][0][behind].any().item<bool>());
  ASSERT_FALSE(pillars.visible[0][0][unseen].any().item<bool>());
  ASSERT_FALSE(pillars.visible[0][1][unseen].any().item<bool>());

  const torch::Tensor output = attention(query, position, views.features, pillars);
  ASSERT_EQ(output.sizes(), (std::vector<int64_t>{1, 64, 8}));
  const auto gradient_per_camera = [&](int64_t q) {
    views.features.mutable_grad() = torch::Tensor();
    attention(query, position, views.features, pillars)[0][q].pow(2).sum().backward();
    return views.features.grad().abs().flatten(1).sum(1);  // (N)
  };
  const torch::Tensor from_ahead = gradient_per_camera(ahead);
  EXPECT_GT(from_ahead[0].item<double>(), 0.0);
  EXPECT_EQ(from_ahead[1].item<double>(), 0.0);
  const torch::Tensor from_behind = gradient_per_camera(behind);
  EXPECT_EQ(from_behind[0].item<double>(), 0.0);
  EXPECT_GT(from_behind[1].item<double>(), 0.0);
  const torch::Tensor from_unseen = gradient_per_camera(unseen);
  EXPECT_EQ(from_unseen.sum().item<double>(), 0.0);
}

TEST(DeformableEncoder, ZeroOffsetsAndUniformWeightsSampleBilinearlyAtThePillar) {
  torch::manual_seed(4);
  const CameraViews views = tiny_views(8);
  const PillarProjection pillars =
      rsd::model::project_query_pillars(rsd::test::tiny_e2e_grid(), 8, 8, 2, views);
  CrossViewDeformableAttention attention(8, 8, 2, 3, 2);
  auto parameters = attention->named_parameters();
  {
    torch::NoGradGuard no_grad;
    parameters["offsets.weight"].zero_();
    parameters["offsets.bias"].zero_();  // every point at its reference
    parameters["weights.weight"].zero_();
    parameters["weights.bias"].zero_();  // uniform over the 2 heights x 3 points
  }
  const torch::Tensor output =
      attention(torch::randn({1, 64, 8}), torch::zeros({1, 64, 8}), views.features, pillars);

  // By hand for the query ahead, seen by the front camera at height 1 only: the three points
  // of that height each weigh 1/6 and sample the same place, so the result is half the
  // projected bilinear sample of the front camera's features, through the value and output
  // projections.
  const int64_t ahead = 4 * 8 + 7;
  const torch::Tensor location = pillars.locations[0][0][ahead][1];  // (2) in [0, 1]
  const torch::Tensor grid = (location * 2.0 - 1.0).view({1, 1, 1, 2});
  const torch::Tensor sampled =
      F::grid_sample(views.features.narrow(0, 0, 1), grid,
                     F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros)
                         .align_corners(false))
          .view({8});
  const torch::Tensor value = torch::matmul(parameters["value.weight"], sampled) +
                              parameters["value.bias"];
  const torch::Tensor expected =
      torch::matmul(parameters["output.weight"], value * 0.5) + parameters["output.bias"];
  EXPECT_TRUE(torch::allclose(output[0][ahead], expected, 1e-5, 1e-6))
      << output[0][ahead] << "\nvs\n" << expected;
}

rsd::model::E2EModelOptions deformable_tiny_options() {
  rsd::model::E2EModelOptions options = rsd::test::tiny_e2e_model_options(true);
  options.risk_head->type("deformable").heads(2).layers(1).downsample(2).points(2)
      .pillar_heights(2).view_channels(options.image_encoder.out_channels());
  return options;
}

TEST(DeformableRiskHead, NeedsTheCameraViewsAndTheirChannels) {
  auto options = deformable_tiny_options().risk_head->view_channels(0);
  EXPECT_THROW(rsd::model::make_risk_head(options), rsd::Error);
  rsd::model::RiskHead head = rsd::model::make_risk_head(options.view_channels(8));
  EXPECT_TRUE(head->uses_camera_views());
  try {
    head(torch::randn({1, rsd::test::kTinyBevChannels, 8, 8}));
    FAIL() << "a deformable head without views must throw";
  } catch (const rsd::Error& error) {
    EXPECT_NE(std::string(error.what()).find("camera views"), std::string::npos) << error.what();
  }
  // Views of another channel count are refused.
  EXPECT_THROW(head(torch::randn({1, rsd::test::kTinyBevChannels, 8, 8}), tiny_views(4)),
               rsd::Error);
  EXPECT_EQ(head(torch::randn({1, rsd::test::kTinyBevChannels, 8, 8}), tiny_views(8)).sizes(),
            (std::vector<int64_t>{1, 1, 8, 8}));
}

TEST(DeformableRiskHead, TrainsInsideTheE2EModel) {
  torch::manual_seed(5);
  rsd::model::E2EModel model(deformable_tiny_options());
  const rsd::train::E2ELoss loss(rsd::test::tiny_e2e_loss_options());
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(3e-3));
  const rsd::test::TinyE2EDataset dataset(8, false, /*unlabelled_every=*/0);
  const auto risk_loss_of = [](const rsd::train::LossTerms& terms) {
    for (const auto& [name, value] : terms.terms) {
      if (name == "loss_risk") return value.item<double>();
    }
    ADD_FAILURE() << "no loss_risk term";
    return 0.0;
  };
  std::vector<double> risk;
  constexpr int kSteps = 80;
  torch::Tensor last_risk_map;
  for (int step = 0; step < kSteps; ++step) {
    const int64_t first = (2 * step) % dataset.size();
    const rsd::data::Batch batch =
        rsd::data::collate({dataset.get(first, 0), dataset.get(first + 1, 0)});
    const rsd::model::E2EOutput output = model->forward(batch);
    ASSERT_EQ(output.risk_logits.sizes(), (std::vector<int64_t>{2, 1, 8, 8}));
    const rsd::train::LossTerms terms = loss(output, batch);
    optimizer.zero_grad();
    terms.total.backward();
    if (step == 0) {
      // Every parameter of the head is reached, the cross-view attention's included.
      for (const auto& parameter : model->risk_head->named_parameters()) {
        ASSERT_TRUE(parameter.value().grad().defined()) << parameter.key();
        EXPECT_GT(parameter.value().grad().abs().sum().item<double>(), 0.0) << parameter.key();
      }
    }
    optimizer.step();
    risk.push_back(risk_loss_of(terms));
    last_risk_map = torch::sigmoid(output.risk_logits.detach()).mean(0).squeeze(0);
  }
  const double first = (risk[0] + risk[1] + risk[2] + risk[3]) / 4.0;
  const double last = (risk[kSteps - 4] + risk[kSteps - 3] + risk[kSteps - 2] + risk[kSteps - 1]) / 4.0;
  EXPECT_LT(last, 0.5 * first) << "risk loss " << first << " -> " << last;
  // The teacher's risky cell (row 5, column 6) stands out of the rest of the map.
  const double risky = last_risk_map[5][6].item<double>();
  const double rest = (last_risk_map.sum().item<double>() - risky) / 63.0;
  EXPECT_GT(risky, 3.0 * rest) << "risky cell " << risky << ", others " << rest;
}

}  // namespace

namespace {

TEST(DeformableRiskHead, SynthTinyDeformableConfigBuildsThePapersHead) {
  const rsd::Config config =
      rsd::Config::load(std::string(RSD_SOURCE_DIR) + "/configs/synth_tiny_deformable.yaml");
  const rsd::model::E2EModelOptions options = rsd::pipeline::e2e_model_options_from(config);
  ASSERT_TRUE(options.risk_head.has_value());
  EXPECT_EQ(options.risk_head->type(), "deformable");
  EXPECT_EQ(options.risk_head->view_channels(), config.get<int64_t>("model.image_encoder.out_channels"));
  EXPECT_EQ(options.risk_head->pillar_heights(), config.get<int64_t>("model.risk_head.pillar_heights"));
  const rsd::model::E2EModel model(options);
  EXPECT_TRUE(model->risk_head->uses_camera_views());
}

}  // namespace
