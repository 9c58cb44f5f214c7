// model::LiftSplat: options from config, the frustum geometry (K, image augmentation, cam2ego)
// against points worked out by hand, where a lit pixel at a known depth lands in the BEV, shapes
// and gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "rsd/geometry/grid_spec.h"
#include "rsd/model/lift_splat.h"
#include "rsd/util/error.h"

namespace {

using rsd::GridSpec;
using rsd::model::LiftSplat;
using rsd::model::LiftSplatOptions;

// Bench2Drive's front camera: 1600x900, fx = fy = 1142.518405, mounted 0.8 m ahead at 1.6 m,
// looking forward. OpenCV camera axes: x right = -y ego, y down = -z ego, z forward = x ego.
constexpr double kFocal = 1142.518405;
constexpr double kScale = 0.44;     // 1600x900 -> 704x396
constexpr double kCropTop = 140.0;  // keep the bottom 256 rows

torch::Tensor front_intrinsics() {
  return torch::tensor({kFocal, 0.0, 800.0, 0.0, kFocal, 450.0, 0.0, 0.0, 1.0}, torch::kDouble)
      .view({3, 3});
}

torch::Tensor resize_and_crop() {
  return torch::tensor({kScale, 0.0, 0.0, 0.0, kScale, -kCropTop, 0.0, 0.0, 1.0}, torch::kDouble)
      .view({3, 3});
}

// cam2ego of the front camera, then rotated by `yaw` about the ego z axis (a BEV augmentation).
torch::Tensor front_cam2ego(double yaw) {
  const double c = std::cos(yaw), s = std::sin(yaw);
  const torch::Tensor rotate = torch::tensor(
      {c, -s, 0.0, 0.0, s, c, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0}, torch::kDouble)
                                   .view({4, 4});
  const torch::Tensor mount = torch::tensor({0.0, 0.0, 1.0, 0.8, -1.0, 0.0, 0.0, 0.0, 0.0, -1.0,
                                             0.0, 1.6, 0.0, 0.0, 0.0, 1.0},
                                            torch::kDouble)
                                  .view({4, 4});
  return torch::matmul(rotate, mount);
}

// The ego point of feature cell (row, col) at depth d, worked out by hand for the rig above.
struct EgoPoint {
  double x, y, z;
};
EgoPoint expected_point(int64_t row, int64_t col, int64_t stride, double depth, double yaw) {
  const double u = col * stride + stride / 2.0;  // network-input pixel, the cell's centre
  const double v = row * stride + stride / 2.0;
  const double u0 = u / kScale;                         // original pixel
  const double v0 = (v + kCropTop) / kScale;
  const double right = (u0 - 800.0) / kFocal * depth;   // camera frame
  const double down = (v0 - 450.0) / kFocal * depth;
  const double x = depth + 0.8, y = -right, z = 1.6 - down;  // ego frame before the BEV yaw
  return {std::cos(yaw) * x - std::sin(yaw) * y, std::sin(yaw) * x + std::cos(yaw) * y, z};
}

const GridSpec kGrid({-32.0, 32.0, 0.5}, {-32.0, 32.0, 0.5}, {-5.0, 3.0, 8.0});

LiftSplatOptions test_options() {
  LiftSplatOptions options(8, kGrid, 256, 704);
  options.depth_min(1.0).depth_max(45.0).depth_step(1.0).context_channels(4).stride(16);
  return options;
}

TEST(LiftSplat, FrustumIsFeatureCellCentresAtEachBin) {
  const LiftSplatOptions options = test_options();
  const torch::Tensor frustum = rsd::model::make_frustum(options, torch::kDouble);
  ASSERT_EQ(frustum.sizes(), torch::IntArrayRef({44, 16, 44, 3}));
  EXPECT_DOUBLE_EQ(frustum[3][2][5][0].item<double>(), 5 * 16 + 8.0);
  EXPECT_DOUBLE_EQ(frustum[3][2][5][1].item<double>(), 2 * 16 + 8.0);
  EXPECT_DOUBLE_EQ(frustum[3][2][5][2].item<double>(), 4.0);
}

TEST(LiftSplat, EgoPointsFollowIntrinsicsAugmentationAndCam2Ego) {
  const LiftSplatOptions options = test_options();
  const double yaws[2] = {0.0, M_PI / 2};
  const torch::Tensor intrinsics = front_intrinsics().expand({2, 1, 3, 3});
  const torch::Tensor img_aug = resize_and_crop().expand({2, 1, 3, 3});
  const torch::Tensor cam2ego = torch::stack({front_cam2ego(yaws[0]), front_cam2ego(yaws[1])}).unsqueeze(1);
  const torch::Tensor points = rsd::model::frustum_to_ego(
      rsd::model::make_frustum(options, torch::kDouble), intrinsics, img_aug, cam2ego);
  ASSERT_EQ(points.sizes(), torch::IntArrayRef({2, 1, 44, 16, 44, 3}));
  for (int b = 0; b < 2; ++b) {
    for (const auto& [bin, row, col] : {std::tuple{9, 8, 22}, std::tuple{20, 15, 3}, std::tuple{0, 0, 43}}) {
      const EgoPoint expected = expected_point(row, col, 16, 1.0 + bin, yaws[b]);
      const torch::Tensor p = points[b][0][bin][row][col];
      EXPECT_NEAR(p[0].item<double>(), expected.x, 1e-9);
      EXPECT_NEAR(p[1].item<double>(), expected.y, 1e-9);
      EXPECT_NEAR(p[2].item<double>(), expected.z, 1e-9);
    }
  }
}

TEST(LiftSplat, ALitPixelAtAKnownDepthLandsInTheExpectedCell) {
  const LiftSplatOptions options = test_options();
  LiftSplat lift(options);
  const int64_t bin = 11, row = 9, col = 30;  // depth 12 m
  {
    // Depth logits: bin `bin` everywhere (softmax ~ one-hot); context channel 2 = input channel 5.
    torch::NoGradGuard no_grad;
    lift->depth_net->weight.zero_();
    lift->depth_net->bias.zero_();
    lift->depth_net->bias[bin].fill_(60.0);
    lift->depth_net->weight[options.depth_bins() + 2][5][0][0].fill_(1.0);
  }
  const double yaws[2] = {0.0, 0.6};
  torch::Tensor features = torch::zeros({2, 8, 16, 44});
  features[0][5][row][col] = 1.0f;
  features[1][5][row][col] = 1.0f;
  const torch::Tensor cam2ego =
      torch::stack({front_cam2ego(yaws[0]), front_cam2ego(yaws[1])}).unsqueeze(1).to(torch::kFloat);
  const auto output = lift->forward(features, front_intrinsics().expand({2, 1, 3, 3}).to(torch::kFloat),
                                    resize_and_crop().expand({2, 1, 3, 3}).to(torch::kFloat), cam2ego);
  ASSERT_EQ(output.bev.sizes(), torch::IntArrayRef({2, 4, 128, 128}));
  for (int b = 0; b < 2; ++b) {
    const EgoPoint p = expected_point(row, col, 16, 1.0 + bin, yaws[b]);
    const int64_t cell = kGrid.flat_cell(p.x, p.y, p.z);
    ASSERT_GE(cell, 0);
    const torch::Tensor channel = output.bev[b][2].reshape({-1});
    EXPECT_EQ(channel.argmax().item<int64_t>(), cell) << "sample " << b;
    EXPECT_NEAR(channel[cell].item<float>(), 1.0f, 1e-5);
    EXPECT_NEAR(channel.sum().item<float>(), 1.0f, 1e-5);
    EXPECT_EQ(output.bev[b][0].abs().sum().item<float>(), 0.0f);
  }
}

// A feature cell j at stride s covers network pixels [j*s, (j+1)*s) (pixel u covers [u, u+1), the
// convention of K with cx = W/2 and of img_aug, see rsd/data/batch.h), so its ray passes through
// u = j*s + s/2. A 3-D point that projects onto that centre must come back in its own BEV cell:
// lighting its feature cell at its depth fills exactly that cell, also through a mirrored image.
TEST(LiftSplat, TheFeatureCellOfAProjectedPointLiftsItBackIntoItsBevCell) {
  // 64x64 pinhole, f = 16 px, principal point at the image centre (32, 32); the front mount.
  const torch::Tensor intrinsics =
      torch::tensor({16.0, 0.0, 32.0, 0.0, 16.0, 32.0, 0.0, 0.0, 1.0}, torch::kDouble).view({3, 3});
  // Sample 1 sees the image mirrored as place_image builds it: u' = W - u.
  const torch::Tensor mirror =
      torch::tensor({-1.0, 0.0, 64.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0}, torch::kDouble).view({3, 3});
  const torch::Tensor img_aug = torch::stack({torch::eye(3, torch::kDouble), mirror}).unsqueeze(1);
  // y cells of 0.5 m bordered at -6.75, -6.25, -5.75: the point's y = -6.5 is a cell centre.
  const GridSpec grid({0.0, 32.0, 0.5}, {-16.25, 15.75, 0.5}, {-10.0, 10.0, 20.0});
  LiftSplatOptions options(8, grid, 64, 64);
  options.depth_min(1.0).depth_max(45.0).depth_step(1.0).context_channels(4).stride(16);

  // Ego point 13 m ahead of the camera, 6.5 m right of and 6.5 m below it: camera (6.5, 6.5, 13)
  // projects to (u, v) = (32 + 16 * 6.5 / 13, same) = (40, 40), mirrored (24, 40): the centres of
  // feature cells (row 2, col 2) and (row 2, col 1).
  const double x = 0.8 + 13.0, y = -6.5, z = 1.6 - 6.5;
  const int64_t bin = 12, row = 2, cols[2] = {2, 1};
  const int64_t cell = grid.flat_cell(x, y, z);
  ASSERT_GE(cell, 0);
  // The sensitivity of this case: rays through the old centres (s - 1) / 2 = 7.5 (u = 39.5, or
  // 23.5 mirrored = 40.5 unmirrored) reach y = -6.09 and y = -6.91 at 13 m, the neighbour cells.
  ASSERT_NE(grid.flat_cell(x, -(39.5 - 32.0) / 16.0 * 13.0, z), cell);
  ASSERT_NE(grid.flat_cell(x, -(40.5 - 32.0) / 16.0 * 13.0, z), cell);

  LiftSplat lift(options);
  {
    // Depth: bin `bin` everywhere (softmax ~ one-hot); context channel 0 = input channel 3.
    torch::NoGradGuard no_grad;
    lift->depth_net->weight.zero_();
    lift->depth_net->bias.zero_();
    lift->depth_net->bias[bin].fill_(60.0);
    lift->depth_net->weight[options.depth_bins()][3][0][0].fill_(1.0);
  }
  torch::Tensor features = torch::zeros({2, 8, 4, 4});
  for (int b = 0; b < 2; ++b) features[b][3][row][cols[b]] = 1.0f;
  const auto output =
      lift->forward(features, intrinsics.expand({2, 1, 3, 3}).to(torch::kFloat),
                    img_aug.to(torch::kFloat),
                    front_cam2ego(0.0).expand({2, 1, 4, 4}).to(torch::kFloat));
  for (int b = 0; b < 2; ++b) {
    const torch::Tensor channel = output.bev[b][0].reshape({-1});
    EXPECT_EQ(channel.argmax().item<int64_t>(), cell) << "sample " << b;
    EXPECT_NEAR(channel[cell].item<float>(), 1.0f, 1e-5) << "sample " << b;
  }
}

TEST(LiftSplat, ShapesAndGradients) {
  const LiftSplatOptions options = test_options();
  LiftSplat lift(options);
  const int64_t batch = 2, cameras = 3;
  const torch::Tensor features = torch::randn({batch * cameras, 8, 16, 44}, torch::requires_grad());
  std::vector<torch::Tensor> mounts;
  for (int n = 0; n < cameras; ++n) mounts.push_back(front_cam2ego(n * 2.0 * M_PI / cameras));
  const torch::Tensor cam2ego = torch::stack(mounts).unsqueeze(0).expand({batch, cameras, 4, 4}).to(torch::kFloat);
  const auto output =
      lift->forward(features, front_intrinsics().expand({batch, cameras, 3, 3}).to(torch::kFloat),
                    resize_and_crop().expand({batch, cameras, 3, 3}).to(torch::kFloat), cam2ego);
  EXPECT_EQ(output.bev.sizes(), torch::IntArrayRef({batch, 4, 128, 128}));
  EXPECT_EQ(output.depth.sizes(), torch::IntArrayRef({batch, cameras, 44, 16, 44}));
  EXPECT_TRUE(torch::allclose(output.depth.sum(2), torch::ones({batch, cameras, 16, 44}), 1e-5, 1e-5));
  output.bev.pow(2).mean().backward();
  EXPECT_GT(lift->depth_net->weight.grad().abs().sum().item<float>(), 0.0f);
  EXPECT_GT(features.grad().abs().sum().item<float>(), 0.0f);
  // The first context channel's weights get a gradient from the pooled features.
  EXPECT_GT(lift->depth_net->weight.grad()[options.depth_bins()].abs().sum().item<float>(), 0.0f);

  EXPECT_THROW(lift->forward(features.narrow(2, 0, 8), front_intrinsics().expand({batch, cameras, 3, 3}),
                             resize_and_crop().expand({batch, cameras, 3, 3}), cam2ego),
               rsd::Error);
}

}  // namespace
