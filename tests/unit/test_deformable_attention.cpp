// ops::multi_scale_deformable_attention: against a naive reference (loops over batch, queries,
// heads, levels and points, bilinear interpolation with zero padding by hand) in value and
// gradients, finite-difference gradients, sampling at pixel centres, shape errors, flatten_levels,
// and dtypes (16-bit values, autocast) and devices (CUDA skipped without GPU).
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "rsd/ops/deformable_attention.h"
#include "rsd/util/error.h"
#include "rsd/util/mixed_precision.h"
#include "support/error_message.h"
#include "support/gradcheck.h"

namespace {

using rsd::ops::LevelShape;
using rsd::ops::multi_scale_deformable_attention;
using rsd::test::error_message;

struct Sizes {
  int64_t batch = 2, queries = 3, heads = 2, points = 2, head_dim = 3;
  std::vector<LevelShape> levels = {{3, 4}, {2, 2}};

  int64_t cells() const {
    int64_t total = 0;
    for (const LevelShape& level : levels) total += level.cells();
    return total;
  }
  int64_t level_count() const { return static_cast<int64_t>(levels.size()); }
  std::vector<int64_t> weight_shape() const {
    return {batch, queries, heads, level_count(), points};
  }
  std::vector<int64_t> location_shape() const {
    return {batch, queries, heads, level_count(), points, 2};
  }
};

struct Inputs {
  torch::Tensor value, locations, weights;
};

// Moves every coordinate at least a tenth of a cell away from the integer sample positions
// (pixel centres, in grid_sample's x = loc * W - 0.5), where the bilinear weights have kinks and
// the derivative w.r.t. the location jumps; a finite difference across one is meaningless.
void avoid_kinks(torch::Tensor& locations, const Sizes& sizes) {
  for (int64_t l = 0; l < sizes.level_count(); ++l) {
    const double extent[2] = {static_cast<double>(sizes.levels[l].width),
                              static_cast<double>(sizes.levels[l].height)};
    for (int64_t axis = 0; axis < 2; ++axis) {
      torch::Tensor coordinate = locations.select(3, l).select(-1, axis);
      const torch::Tensor pixel = coordinate * extent[axis] - 0.5;
      const torch::Tensor fraction = pixel - torch::floor(pixel);
      const torch::Tensor near = (fraction < 0.1).logical_or(fraction > 0.9);
      coordinate.copy_(torch::where(near, coordinate + 0.25 / extent[axis], coordinate));
    }
  }
}

// Value and weights ~ N(0, 1) and U(0, 1); locations over the maps and around them (about a
// fifth outside), a few exactly on the edges 0 and 1, none on a kink.
Inputs random_inputs(const Sizes& sizes, uint64_t seed, torch::Dtype dtype = torch::kDouble) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto options = torch::TensorOptions().dtype(torch::kDouble);
  Inputs inputs;
  inputs.value = torch::randn({sizes.batch, sizes.cells(), sizes.heads, sizes.head_dim},
                              generator, options);
  inputs.locations = torch::rand(sizes.location_shape(), generator, options) * 1.4 - 0.2;
  avoid_kinks(inputs.locations, sizes);
  inputs.weights = torch::rand(sizes.weight_shape(), generator, options);
  if (sizes.batch > 1 && sizes.queries > 2 && sizes.heads > 1 && sizes.points > 1) {
    using torch::indexing::Slice;
    inputs.locations.index_put_({0, 0, 0, 0, 0}, torch::tensor({0.0, 0.0}, options));
    inputs.locations.index_put_({0, 1, 1, 1, 1}, torch::tensor({1.0, 1.0}, options));
    inputs.locations.index_put_({1, 2, 0, 0, 1}, torch::tensor({0.0, 1.0}, options));
    inputs.locations.index_put_({1, 0, 1, 1, 0}, torch::tensor({-0.7, 0.4}, options));  // outside
    inputs.locations.index_put_({1, 1, 0, 0, 0}, torch::tensor({1.05, 0.3}, options));  // partly
  }
  inputs.value = inputs.value.to(dtype);
  inputs.locations = inputs.locations.to(dtype);
  inputs.weights = inputs.weights.to(dtype);
  return inputs;
}

// The definition, one sample at a time: x = loc_x * W - 0.5 and y = loc_y * H - 0.5 in pixel
// units (pixel centres at integers), the four surrounding pixels weighted bilinearly, pixels
// outside the map contributing nothing. Made of per-element tensor ops so that autograd
// differentiates it (the floor is a constant, as in the bilinear formula).
torch::Tensor naive_attention(const torch::Tensor& value, const std::vector<LevelShape>& levels,
                              const torch::Tensor& locations, const torch::Tensor& weights) {
  const int64_t batch = value.size(0), heads = value.size(2), head_dim = value.size(3);
  const int64_t queries = locations.size(1), points = locations.size(4);
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t q = 0; q < queries; ++q) {
      std::vector<torch::Tensor> per_head;
      for (int64_t h = 0; h < heads; ++h) {
        torch::Tensor sum = torch::zeros({head_dim}, value.options());
        int64_t level_start = 0;
        for (int64_t l = 0; l < static_cast<int64_t>(levels.size()); ++l) {
          const int64_t height = levels[l].height, width = levels[l].width;
          for (int64_t p = 0; p < points; ++p) {
            const torch::Tensor location = locations[b][q][h][l][p];
            const torch::Tensor x = location[0] * width - 0.5;
            const torch::Tensor y = location[1] * height - 0.5;
            const double x0 = std::floor(x.item<double>()), y0 = std::floor(y.item<double>());
            const torch::Tensor fx = x - x0, fy = y - y0;
            for (int dy = 0; dy < 2; ++dy) {
              for (int dx = 0; dx < 2; ++dx) {
                const int64_t xi = static_cast<int64_t>(x0) + dx;
                const int64_t yi = static_cast<int64_t>(y0) + dy;
                if (xi < 0 || xi >= width || yi < 0 || yi >= height) continue;
                const torch::Tensor corner = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
                sum = sum + weights[b][q][h][l][p] * corner *
                                value[b][level_start + yi * width + xi][h];
              }
            }
          }
          level_start += levels[l].cells();
        }
        per_head.push_back(sum);
      }
      rows.push_back(torch::cat(per_head));
    }
  }
  return torch::stack(rows).view({batch, queries, heads * head_dim});
}

std::vector<torch::Tensor> requiring_grad(const Inputs& inputs) {
  return {inputs.value.detach().requires_grad_(), inputs.locations.detach().requires_grad_(),
          inputs.weights.detach().requires_grad_()};
}

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, double rtol,
                  double atol, const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  EXPECT_TRUE(torch::allclose(actual, expected, rtol, atol))
      << what << ": max |difference| " << (actual - expected).abs().max().item<double>();
}

TEST(DeformableAttention, MatchesNaiveReferenceInValueAndGradients) {
  const Sizes sizes;
  const Inputs inputs = random_inputs(sizes, 11);
  const torch::Tensor upstream =
      torch::randn({sizes.batch, sizes.queries, sizes.heads * sizes.head_dim},
                   at::make_generator<at::CPUGeneratorImpl>(12), torch::kDouble);

  const std::vector<torch::Tensor> op_inputs = requiring_grad(inputs);
  const torch::Tensor out =
      multi_scale_deformable_attention(op_inputs[0], sizes.levels, op_inputs[1], op_inputs[2]);
  const std::vector<torch::Tensor> ref_inputs = requiring_grad(inputs);
  const torch::Tensor ref = naive_attention(ref_inputs[0], sizes.levels, ref_inputs[1], ref_inputs[2]);

  EXPECT_EQ(out.scalar_type(), torch::kDouble);
  expect_close(out, ref, 1e-12, 1e-12, "forward");
  // The reference is not trivially zero: most samples fall inside the maps.
  EXPECT_GT(ref.abs().mean().item<double>(), 0.1);

  const auto op_grads = torch::autograd::grad({(out * upstream).sum()}, op_inputs);
  const auto ref_grads = torch::autograd::grad({(ref * upstream).sum()}, ref_inputs);
  const char* names[3] = {"d/d value", "d/d sampling_locations", "d/d attention_weights"};
  for (int i = 0; i < 3; ++i) {
    expect_close(op_grads[i], ref_grads[i], 1e-10, 1e-12, names[i]);
    EXPECT_GT(ref_grads[i].abs().max().item<double>(), 0.0) << names[i];
  }
  // Fully outside: no contribution, so no gradient to its location or weight.
  EXPECT_EQ(op_grads[1][1][0][1][1][0].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(op_grads[2][1][0][1][1][0].item<double>(), 0.0);
}

TEST(DeformableAttention, GradcheckInDouble) {
  const Sizes sizes;
  const Inputs inputs = random_inputs(sizes, 21);
  EXPECT_TRUE(rsd::test::gradcheck(
      [&](const std::vector<torch::Tensor>& x) {
        return multi_scale_deformable_attention(x[0], sizes.levels, x[1], x[2]);
      },
      requiring_grad(inputs)));
}

// Locations (B, Q, H, L, P, 2) where point p of every level is the centre of that level's pixel p
// (row-major), for levels of P pixels each.
torch::Tensor pixel_centres(const Sizes& sizes, torch::Dtype dtype) {
  torch::Tensor locations = torch::empty(sizes.location_shape(), torch::kDouble);
  for (int64_t l = 0; l < sizes.level_count(); ++l) {
    const LevelShape level = sizes.levels[l];
    for (int64_t p = 0; p < sizes.points; ++p) {
      const double x = (p % level.width + 0.5) / level.width;
      const double y = (p / level.width + 0.5) / level.height;
      locations.select(3, l).select(3, p).copy_(torch::tensor({x, y}, torch::kDouble));
    }
  }
  return locations.to(dtype);
}

TEST(DeformableAttention, UniformWeightsAtPixelCentresAverageTheValues) {
  Sizes sizes;
  sizes.levels = {{2, 2}, {1, 4}};
  sizes.points = 4;  // every pixel of both levels
  for (const torch::Dtype dtype : {torch::kDouble, torch::kFloat}) {
    const Inputs inputs = random_inputs(sizes, 31, dtype);
    const torch::Tensor uniform = torch::full(sizes.weight_shape(), 1.0 / 8, inputs.value.options());
    const torch::Tensor out = multi_scale_deformable_attention(
        inputs.value, sizes.levels, pixel_centres(sizes, dtype), uniform);
    const torch::Tensor mean = inputs.value.mean(1).reshape({sizes.batch, 1, -1});
    const double tolerance = dtype == torch::kDouble ? 1e-12 : 1e-6;
    expect_close(out, mean.expand_as(out), tolerance, tolerance, "mean over all pixels");
  }
}

TEST(DeformableAttention, LocationAtAPixelCentreReturnsThatPixel) {
  Sizes sizes;
  sizes.points = 1;
  sizes.queries = 1;
  const Inputs inputs = random_inputs(sizes, 41);
  int64_t level_start = 0;
  for (int64_t l = 0; l < sizes.level_count(); ++l) {
    const LevelShape level = sizes.levels[l];
    // Only level l is weighted; the other level samples somewhere with weight 0.
    torch::Tensor weights = torch::zeros(sizes.weight_shape(), torch::kDouble);
    weights.select(3, l).fill_(1.0);
    for (int64_t i = 0; i < level.height; ++i) {
      for (int64_t j = 0; j < level.width; ++j) {
        torch::Tensor locations = inputs.locations.clone();
        locations.select(3, l).select(-1, 0).fill_((j + 0.5) / level.width);
        locations.select(3, l).select(-1, 1).fill_((i + 0.5) / level.height);
        const torch::Tensor out =
            multi_scale_deformable_attention(inputs.value, sizes.levels, locations, weights);
        const torch::Tensor pixel =
            inputs.value.select(1, level_start + i * level.width + j).reshape({sizes.batch, 1, -1});
        expect_close(out, pixel, 1e-12, 1e-12,
                     "level " + std::to_string(l) + " pixel " + std::to_string(i) + "," +
                         std::to_string(j));
      }
    }
    level_start += level.cells();
  }
}

TEST(DeformableAttention, BadShapesNameTheTensor) {
  const Sizes sizes;
  const Inputs in = random_inputs(sizes, 51, torch::kFloat);
  const auto message = [&](const torch::Tensor& value, const std::vector<LevelShape>& levels,
                           const torch::Tensor& locations, const torch::Tensor& weights) {
    return error_message([&] { multi_scale_deformable_attention(value, levels, locations, weights); });
  };
  const auto contains = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };

  std::string text = message(in.value.flatten(2), sizes.levels, in.locations, in.weights);
  EXPECT_TRUE(contains(text, "value must be (B, S, H, Dh)")) << text;
  text = message(in.value.narrow(1, 0, 15), sizes.levels, in.locations, in.weights);
  EXPECT_TRUE(contains(text, "value") && contains(text, "S = 16")) << text;
  text = message(in.value, {{3, 4}, {2, 3}}, in.locations, in.weights);
  EXPECT_TRUE(contains(text, "S = 18") && contains(text, "{2, 3}")) << text;
  text = message(in.value, {}, in.locations, in.weights);
  EXPECT_TRUE(contains(text, "shapes must list at least one level")) << text;
  text = message(in.value, {{3, 4}, {0, 2}}, in.locations, in.weights);
  EXPECT_TRUE(contains(text, "level 1 of shapes")) << text;

  text = message(in.value, sizes.levels, torch::cat({in.locations, in.locations}, -1), in.weights);
  EXPECT_TRUE(contains(text, "sampling_locations must be (B, Q, H, L, P, 2) = (2, Q, 2, 2, P, 2)"))
      << text;
  text = message(in.value, sizes.levels, in.locations.narrow(3, 0, 1), in.weights);
  EXPECT_TRUE(contains(text, "sampling_locations")) << text;
  text = message(in.value, sizes.levels, in.locations.narrow(2, 0, 1), in.weights);
  EXPECT_TRUE(contains(text, "sampling_locations")) << text;

  text = message(in.value, sizes.levels, in.locations, in.weights.narrow(4, 0, 1));
  EXPECT_TRUE(contains(text, "attention_weights must be (B, Q, H, L, P) = [2, 3, 2, 2, 2]")) << text;
  text = message(in.value, sizes.levels, in.locations, in.weights.unsqueeze(-1));
  EXPECT_TRUE(contains(text, "attention_weights")) << text;

  text = message(in.value, sizes.levels, in.locations.to(torch::kInt), in.weights);
  EXPECT_TRUE(contains(text, "floating point")) << text;
}

TEST(DeformableAttention, FlattenLevelsReadsChannelsHeadMajor) {
  const int64_t batch = 2, heads = 2, head_dim = 3;
  const torch::Tensor fine = torch::randn({batch, heads * head_dim, 3, 4}, torch::kDouble);
  const torch::Tensor coarse = torch::randn({batch, heads * head_dim, 2, 2}, torch::kDouble);
  const rsd::ops::FlattenedLevels flat = rsd::ops::flatten_levels({fine, coarse}, heads);

  ASSERT_EQ(flat.shapes.size(), 2u);
  EXPECT_EQ(flat.shapes[0].height, 3);
  EXPECT_EQ(flat.shapes[0].width, 4);
  EXPECT_EQ(flat.shapes[1].height, 2);
  EXPECT_EQ(flat.shapes[1].width, 2);
  ASSERT_EQ(flat.value.sizes(), (std::vector<int64_t>{batch, 16, heads, head_dim}));
  // value[b, start + i*W + j, h, d] = map[b, h*Dh + d, i, j]
  EXPECT_TRUE(torch::equal(flat.value[1][2 * 4 + 3][1], fine[1].select(1, 2).select(1, 3).narrow(0, 3, 3)));
  EXPECT_TRUE(torch::equal(flat.value[0][12 + 1 * 2 + 0][0], coarse[0].select(1, 1).select(1, 0).narrow(0, 0, 3)));

  // Through the op: a query at a pixel centre of the coarse map reads that pixel's channels.
  torch::Tensor locations = torch::full({batch, 1, heads, 2, 1, 2}, 0.5, torch::kDouble);
  locations.select(3, 1).select(-1, 0).fill_(1.5 / 2);  // column 1
  locations.select(3, 1).select(-1, 1).fill_(0.5 / 2);  // row 0
  torch::Tensor weights = torch::zeros({batch, 1, heads, 2, 1}, torch::kDouble);
  weights.select(3, 1).fill_(1.0);
  const torch::Tensor out =
      multi_scale_deformable_attention(flat.value, flat.shapes, locations, weights);
  expect_close(out.select(1, 0), coarse.select(2, 0).select(2, 1), 1e-12, 1e-12, "coarse (0, 1)");

  const std::string mismatch = error_message([&] {
    rsd::ops::flatten_levels({fine, coarse.narrow(1, 0, 4)}, heads);
  });
  EXPECT_NE(mismatch.find("level 1 must be (2, 6, H_l, W_l)"), std::string::npos) << mismatch;
  const std::string indivisible = error_message([&] { rsd::ops::flatten_levels({fine}, 4); });
  EXPECT_NE(indivisible.find("not a multiple of the 4 heads"), std::string::npos) << indivisible;
}

TEST(DeformableAttention, OutputFollowsValueDtype) {
  const Sizes sizes;
  const Inputs exact = random_inputs(sizes, 61, torch::kFloat);
  const torch::Tensor fp32 =
      multi_scale_deformable_attention(exact.value, sizes.levels, exact.locations, exact.weights);
  EXPECT_EQ(fp32.scalar_type(), torch::kFloat);
  EXPECT_TRUE(fp32.is_contiguous());

  // 16-bit values with float locations and weights: sampled in fp32, rounded once at the end.
  // Against the fp32 op on the same (rounded) values only that last rounding differs; against the
  // unrounded values the rounding of the inputs adds about as much again.
  for (const torch::Dtype dtype : {torch::kBFloat16, torch::kHalf}) {
    const torch::Tensor value = exact.value.to(dtype);
    const torch::Tensor out =
        multi_scale_deformable_attention(value, sizes.levels, exact.locations, exact.weights);
    EXPECT_EQ(out.scalar_type(), dtype);
    const double unit = dtype == torch::kBFloat16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
    const torch::Tensor same_values = multi_scale_deformable_attention(
        value.to(torch::kFloat), sizes.levels, exact.locations, exact.weights);
    expect_close(out.to(torch::kFloat), same_values, unit, 1e-6, "16-bit vs fp32, same values");
    expect_close(out.to(torch::kFloat), fp32, 4 * unit, 4 * unit, "16-bit vs fp32");

    // Differentiable: the value's gradient comes back in its dtype.
    const torch::Tensor leaf = value.detach().requires_grad_();
    multi_scale_deformable_attention(leaf, sizes.levels, exact.locations, exact.weights)
        .sum()
        .backward();
    ASSERT_TRUE(leaf.grad().defined());
    EXPECT_EQ(leaf.grad().scalar_type(), dtype);
  }

  // All-bfloat16 inputs: the locations are widened, not the other way round.
  const torch::Tensor all_bf16 = multi_scale_deformable_attention(
      exact.value.to(torch::kBFloat16), sizes.levels, exact.locations.to(torch::kBFloat16),
      exact.weights.to(torch::kBFloat16));
  EXPECT_EQ(all_bf16.scalar_type(), torch::kBFloat16);
  expect_close(all_bf16.to(torch::kFloat), fp32, 0.05, 0.05, "all bf16 vs fp32");

  const Inputs exact64 = random_inputs(sizes, 61, torch::kDouble);
  EXPECT_EQ(multi_scale_deformable_attention(exact64.value, sizes.levels, exact64.locations,
                                             exact64.weights)
                .scalar_type(),
            torch::kDouble);
}

TEST(DeformableAttention, RunsUnderBf16Autocast) {
  const Sizes sizes;
  const Inputs inputs = random_inputs(sizes, 71, torch::kFloat);
  const torch::Tensor fp32 =
      multi_scale_deformable_attention(inputs.value, sizes.levels, inputs.locations, inputs.weights);
  // A bf16 value, as a linear projection under autocast produces it.
  const torch::Tensor value = inputs.value.to(torch::kBFloat16).requires_grad_();
  const torch::Tensor outside_autocast = multi_scale_deformable_attention(
      value.detach(), sizes.levels, inputs.locations, inputs.weights);
  const rsd::AutocastScope autocast(torch::kCPU, rsd::Precision::bf16);
  const torch::Tensor out =
      multi_scale_deformable_attention(value, sizes.levels, inputs.locations, inputs.weights);
  EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
  // Autocast keeps grid_sample in fp32 (its fp32 list) and leaves the weighted sum alone: the
  // locations are not rounded to bf16, the result is the one without autocast.
  EXPECT_TRUE(torch::equal(out.detach(), outside_autocast));
  expect_close(out.to(torch::kFloat), fp32, 4 * std::ldexp(1.0, -8), 4 * std::ldexp(1.0, -8),
               "under autocast vs fp32");
  out.sum().backward();
  EXPECT_TRUE(value.grad().defined());
}

TEST(DeformableAttention, CudaMatchesCpu_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device (libtorch without CUDA or no GPU)";
  const Sizes sizes;
  const Inputs cpu = random_inputs(sizes, 81, torch::kFloat);
  const torch::Tensor expected =
      multi_scale_deformable_attention(cpu.value, sizes.levels, cpu.locations, cpu.weights);
  const torch::Tensor out = multi_scale_deformable_attention(
      cpu.value.cuda(), sizes.levels, cpu.locations.cuda(), cpu.weights.cuda());
  EXPECT_TRUE(out.is_cuda());
  expect_close(out.cpu(), expected, 1e-5, 1e-5, "CUDA vs CPU");
  const std::string mixed = error_message([&] {
    multi_scale_deformable_attention(cpu.value.cuda(), sizes.levels, cpu.locations, cpu.weights.cuda());
  });
  EXPECT_NE(mixed.find("one device"), std::string::npos) << mixed;
}

}  // namespace
