// ops::voxel_pool and its index: against a naive reference (materialise depth x feat, then
// index_add_) whose cells come from GridSpec::flat_cell, finite-difference gradients, edge cases,
// determinism across runs, threads and kernel variants, half and bfloat16 against fp32, and
// CPU/CUDA parity (skipped without GPU).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "rsd/geometry/grid_spec.h"
#include "rsd/ops/voxel_pool.h"
#include "rsd/util/error.h"
#include "support/error_message.h"
#include "support/gradcheck.h"

namespace {

using rsd::GridSpec;
using rsd::ops::IndexSort;
using rsd::ops::VoxelPoolIndex;

struct Frustum {
  int64_t batch, cameras, depth_bins, height, width;
  std::vector<int64_t> shape() const { return {batch, cameras, depth_bins, height, width}; }
  std::vector<int64_t> feat_shape(int64_t channels) const {
    return {batch, cameras, height, width, channels};
  }
};

// Points over and around the grid (about a third outside), a quarter of them snapped exactly onto
// cell borders, where floor and truncation or a reciprocal would disagree.
torch::Tensor random_points(const GridSpec& grid, const Frustum& frustum, uint64_t seed,
                            torch::Dtype dtype = torch::kFloat) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<int64_t> shape = frustum.shape();
  shape.push_back(3);
  torch::Tensor points = torch::empty(shape, torch::kDouble);
  const rsd::GridAxis* axes[3] = {&grid.x(), &grid.y(), &grid.z()};
  for (int i = 0; i < 3; ++i) {
    const double extent = axes[i]->max - axes[i]->min;
    torch::Tensor u = torch::rand(frustum.shape(), generator, torch::kDouble);
    torch::Tensor values = axes[i]->min - 0.15 * extent + 1.3 * extent * u;
    const torch::Tensor snapped =
        axes[i]->min + torch::round((values - axes[i]->min) / axes[i]->step) * axes[i]->step;
    const torch::Tensor snap = torch::rand(frustum.shape(), generator, torch::kDouble) < 0.25;
    points.select(-1, i).copy_(torch::where(snap, snapped, values));
  }
  return points.to(dtype);
}

// The global cell of every point, by GridSpec::flat_cell (the reference of the index).
torch::Tensor reference_cells(const torch::Tensor& points, const GridSpec& grid) {
  const torch::Tensor flat = points.to(torch::kDouble).reshape({points.size(0), -1, 3});
  torch::Tensor cells = torch::empty({flat.size(0), flat.size(1)}, torch::kLong);
  auto p = flat.accessor<double, 3>();
  auto c = cells.accessor<int64_t, 2>();
  for (int64_t b = 0; b < flat.size(0); ++b) {
    for (int64_t i = 0; i < flat.size(1); ++i) {
      const int64_t cell = grid.flat_cell(p[b][i][0], p[b][i][1], p[b][i][2]);
      c[b][i] = cell < 0 ? -1 : b * grid.cells() + cell;
    }
  }
  return cells.reshape(points.sizes().slice(0, 5));
}

// Materialise depth x feat (B, N, D, fH, fW, C), then index_add_ into the cells (a dummy row takes
// the points outside), then (B, Z*C, Y, X) with Z collapsed z-major.
torch::Tensor naive_pool(const torch::Tensor& depth, const torch::Tensor& feat,
                         const torch::Tensor& cells, const GridSpec& grid) {
  const int64_t batch = depth.size(0);
  const int64_t channels = feat.size(-1);
  const int64_t total = batch * grid.cells();
  const torch::Tensor frustum = depth.unsqueeze(-1) * feat.unsqueeze(2);
  const torch::Tensor rows = torch::where(cells >= 0, cells, torch::full_like(cells, total));
  const torch::Tensor summed = torch::zeros({total + 1, channels}, depth.options())
                                   .index_add(0, rows.reshape({-1}), frustum.reshape({-1, channels}));
  return summed.narrow(0, 0, total)
      .view({batch, grid.nz(), grid.ny(), grid.nx(), channels})
      .permute({0, 1, 4, 2, 3})
      .reshape({batch, grid.nz() * channels, grid.ny(), grid.nx()});
}

struct Inputs {
  torch::Tensor depth, feat;
};

Inputs random_inputs(const Frustum& frustum, int64_t channels, uint64_t seed,
                     torch::Dtype dtype = torch::kFloat) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  Inputs inputs;
  inputs.depth = torch::rand(frustum.shape(), generator, dtype).requires_grad_(true);
  inputs.feat = torch::randn(frustum.feat_shape(channels), generator, dtype).requires_grad_(true);
  return inputs;
}

struct Result {
  torch::Tensor out, depth_grad, feat_grad;
};

Result run_op(const Inputs& inputs, const VoxelPoolIndex& index, const torch::Tensor& grad) {
  const torch::Tensor depth = inputs.depth.detach().clone().requires_grad_(true);
  const torch::Tensor feat = inputs.feat.detach().clone().requires_grad_(true);
  Result result;
  result.out = rsd::ops::voxel_pool(depth, feat, index);
  result.out.backward(grad);
  result.depth_grad = depth.grad();
  result.feat_grad = feat.grad();
  return result;
}

Result run_naive(const Inputs& inputs, const torch::Tensor& cells, const GridSpec& grid,
                 const torch::Tensor& grad) {
  const torch::Tensor depth = inputs.depth.detach().clone().requires_grad_(true);
  const torch::Tensor feat = inputs.feat.detach().clone().requires_grad_(true);
  Result result;
  result.out = naive_pool(depth, feat, cells, grid);
  result.out.backward(grad);
  result.depth_grad = depth.grad();
  result.feat_grad = feat.grad();
  return result;
}

void expect_close(const Result& actual, const Result& expected, double rtol, double atol) {
  EXPECT_TRUE(torch::allclose(actual.out, expected.out, rtol, atol))
      << "output, max |diff| " << (actual.out - expected.out).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(actual.depth_grad, expected.depth_grad, rtol, atol))
      << "depth grad, max |diff| "
      << (actual.depth_grad - expected.depth_grad).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(actual.feat_grad, expected.feat_grad, rtol, atol))
      << "feat grad, max |diff| "
      << (actual.feat_grad - expected.feat_grad).abs().max().item<double>();
}

void expect_identical(const Result& a, const Result& b) {
  EXPECT_TRUE(torch::equal(a.out, b.out));
  EXPECT_TRUE(torch::equal(a.depth_grad, b.depth_grad));
  EXPECT_TRUE(torch::equal(a.feat_grad, b.feat_grad));
}

void expect_same_index(const VoxelPoolIndex& a, const VoxelPoolIndex& b) {
  EXPECT_TRUE(torch::equal(a.cell_ptr, b.cell_ptr));
  EXPECT_TRUE(torch::equal(a.point_depth, b.point_depth));
  EXPECT_TRUE(torch::equal(a.point_feat, b.point_feat));
  EXPECT_TRUE(torch::equal(a.cell_of, b.cell_of));
  EXPECT_TRUE(torch::equal(a.pixel_kept_prefix, b.pixel_kept_prefix));
}

// Compares the op with the naive reference for one geometry, every available CPU variant.
void check_against_reference(const GridSpec& grid, const Frustum& frustum, int64_t channels,
                             uint64_t seed, torch::Dtype dtype, double rtol, double atol) {
  const torch::Tensor points = random_points(grid, frustum, seed, dtype);
  const VoxelPoolIndex index = rsd::ops::build_voxel_pool_index(points, grid);
  const Inputs inputs = random_inputs(frustum, channels, seed + 1, dtype);
  const torch::Tensor cells = reference_cells(points, grid);
  const torch::Tensor grad =
      torch::randn({frustum.batch, grid.nz() * channels, grid.ny(), grid.nx()}, dtype);
  const Result expected = run_naive(inputs, cells, grid, grad);
  for (const std::string& variant : rsd::ops::voxel_pool_cpu_variants()) {
    SCOPED_TRACE("CPU variant " + variant + ", C = " + std::to_string(channels));
    rsd::ops::set_voxel_pool_cpu_variant(variant);
    expect_close(run_op(inputs, index, grad), expected, rtol, atol);
  }
  rsd::ops::set_voxel_pool_cpu_variant("auto");
}

const GridSpec kGrid({-4.0, 4.0, 0.5}, {-3.0, 3.0, 0.5}, {-1.0, 1.0, 2.0});  // 16 x 12, Z = 1
const GridSpec kGridZ3({-4.0, 4.0, 1.0}, {-3.0, 3.0, 1.0}, {-1.5, 1.5, 1.0});  // 8 x 6, Z = 3

// ----- index -----------------------------------------------------------------------------------

TEST(VoxelPoolIndex, CellsFollowGridSpecAndBothSortsAgree) {
  const Frustum frustum{2, 3, 5, 4, 6};
  for (const torch::Dtype dtype : {torch::kFloat, torch::kDouble}) {
    const torch::Tensor points = random_points(kGridZ3, frustum, 7, dtype);
    const VoxelPoolIndex index =
        rsd::ops::build_voxel_pool_index(points, kGridZ3, IndexSort::counting_sort);
    EXPECT_TRUE(torch::equal(index.cell_of.to(torch::kLong), reference_cells(points, kGridZ3)));
    const VoxelPoolIndex portable =
        rsd::ops::build_voxel_pool_index(points, kGridZ3, IndexSort::device_sort);
    expect_same_index(index, portable);
  }
}

TEST(VoxelPoolIndex, IsACsrOfEveryCellInFrustumOrder) {
  // About 13 points per cell, spread over the whole frustum: the counting sort's point ranges
  // split most cells, and each range scatters its own share of them.
  const Frustum frustum{2, 2, 24, 6, 10};
  const torch::Tensor points = random_points(kGrid, frustum, 11);
  const torch::Tensor cells = reference_cells(points, kGrid).reshape({-1});
  const int64_t total_points = cells.numel();
  const int64_t total_cells = frustum.batch * kGrid.cells();
  const int64_t pixels = frustum.height * frustum.width;
  auto cell_of = cells.accessor<int64_t, 1>();
  // The stable sort of the device path is the reference order.
  const VoxelPoolIndex sorted =
      rsd::ops::build_voxel_pool_index(points, kGrid, IndexSort::device_sort);
  for (const int64_t ranges : {1, 3, 7}) {
    SCOPED_TRACE(std::to_string(ranges) + " counting-sort ranges");
    const VoxelPoolIndex index =
        rsd::ops::detail::build_voxel_pool_index_in_ranges(points, kGrid, ranges);
    ASSERT_EQ(index.cell_ptr.numel(), total_cells + 1);
    EXPECT_EQ(index.kept(), (cells >= 0).sum().item<int64_t>());
    EXPECT_GT(index.kept(), 0);
    EXPECT_LT(index.kept(), total_points);
    auto ptr = index.cell_ptr.accessor<int32_t, 1>();
    auto point = index.point_depth.accessor<int32_t, 1>();
    auto row = index.point_feat.accessor<int32_t, 1>();
    EXPECT_EQ(ptr[0], 0);
    EXPECT_EQ(ptr[total_cells], index.kept());
    // A range holds at most ceil(P / ranges) consecutive points, so a cell whose first and last
    // points lie further apart has points from several ranges.
    const int64_t range_length = (total_points + ranges - 1) / ranges;
    int64_t cells_across_ranges = 0;
    for (int64_t cell = 0; cell < total_cells; ++cell) {
      ASSERT_LE(ptr[cell], ptr[cell + 1]);
      for (int32_t k = ptr[cell]; k < ptr[cell + 1]; ++k) {
        EXPECT_EQ(cell_of[point[k]], cell);
        if (k > ptr[cell]) {
          EXPECT_LT(point[k - 1], point[k]) << "not in frustum order";
        }
        const int64_t camera = point[k] / (frustum.depth_bins * pixels);
        EXPECT_EQ(row[k], camera * pixels + point[k] % pixels);
      }
      const int32_t first = ptr[cell], last = ptr[cell + 1] - 1;
      if (last > first && point[last] - point[first] >= range_length) ++cells_across_ranges;
    }
    if (ranges > 1) {
      EXPECT_GT(cells_across_ranges, 0) << "no cell has points in two ranges";
    }
    // Kept points per pixel, counted directly.
    const torch::Tensor kept_per_pixel =
        (cells.view({frustum.batch * frustum.cameras, frustum.depth_bins, pixels}) >= 0)
            .sum({1})
            .reshape({-1});
    EXPECT_TRUE(torch::equal(
        index.pixel_kept_prefix.narrow(0, 1, kept_per_pixel.numel()).to(torch::kLong),
        kept_per_pixel.cumsum(0)));
    expect_same_index(index, sorted);
  }
}

TEST(VoxelPoolIndex, RefusesBadPoints) {
  EXPECT_THROW(rsd::ops::build_voxel_pool_index(torch::zeros({1, 2, 3, 4, 5}), kGrid), rsd::Error);
  EXPECT_THROW(rsd::ops::build_voxel_pool_index(torch::zeros({1, 1, 1, 1, 1, 3}, torch::kInt), kGrid),
               rsd::Error);
}

// ----- forward and backward against the reference -----------------------------------------------

TEST(VoxelPool, MatchesNaiveReferenceInFloatAndDouble) {
  const Frustum frustum{1, 3, 8, 4, 6};
  check_against_reference(kGrid, frustum, 24, 21, torch::kFloat, 1e-5, 1e-5);
  check_against_reference(kGrid, frustum, 24, 22, torch::kDouble, 1e-12, 1e-12);
}

TEST(VoxelPool, ChannelsNotAMultipleOfTheTile) {
  const Frustum frustum{1, 2, 5, 3, 4};
  for (const int64_t channels : {1, 3, 17, 80, 83, 130}) {
    check_against_reference(kGrid, frustum, channels, 30 + channels, torch::kFloat, 1e-5, 1e-5);
  }
  check_against_reference(kGrid, frustum, 37, 31, torch::kDouble, 1e-12, 1e-12);
}

TEST(VoxelPool, CollapsesHeightBinsIntoChannelsZMajor) {
  const Frustum frustum{2, 2, 6, 3, 4};
  check_against_reference(kGridZ3, frustum, 5, 41, torch::kDouble, 1e-12, 1e-12);
  check_against_reference(kGridZ3, frustum, 20, 42, torch::kFloat, 1e-5, 1e-5);
}

TEST(VoxelPool, OneVeryLongInterval) {
  // Every point of the frustum in cell (x 3, y 2): one interval of B*N*D*fH*fW = 4800 points.
  const Frustum frustum{1, 4, 30, 5, 8};
  std::vector<int64_t> shape = frustum.shape();
  shape.push_back(3);
  const torch::Tensor points =
      torch::tensor({-2.25, -1.75, 0.0}, torch::kDouble).expand(shape).contiguous();
  const VoxelPoolIndex index = rsd::ops::build_voxel_pool_index(points, kGrid);
  ASSERT_EQ(index.kept(), 4800);
  const int64_t cell = 2 * kGrid.nx() + 3;
  EXPECT_EQ(index.cell_ptr[cell + 1].item<int32_t>() - index.cell_ptr[cell].item<int32_t>(), 4800);
  const Inputs inputs = random_inputs(frustum, 19, 51, torch::kDouble);
  const torch::Tensor grad = torch::randn({1, 19, kGrid.ny(), kGrid.nx()}, torch::kDouble);
  const Result result = run_op(inputs, index, grad);
  expect_close(result, run_naive(inputs, reference_cells(points, kGrid), kGrid, grad), 1e-12, 1e-10);
  // Every other cell is empty and written as zeros.
  torch::Tensor others = result.out.clone();
  others.select(2, 2).select(2, 3).zero_();
  EXPECT_TRUE(torch::equal(others, torch::zeros_like(others)));
}

TEST(VoxelPool, PointsOutsideTheGridAndEmptyCells) {
  const Frustum frustum{1, 2, 4, 3, 3};
  std::vector<int64_t> shape = frustum.shape();
  shape.push_back(3);
  const torch::Tensor outside = torch::full(shape, 100.0);
  const VoxelPoolIndex index = rsd::ops::build_voxel_pool_index(outside, kGrid);
  EXPECT_EQ(index.kept(), 0);
  const Inputs inputs = random_inputs(frustum, 6, 61);
  const torch::Tensor grad = torch::randn({1, 6, kGrid.ny(), kGrid.nx()});
  // NaN outputs would show an element never written (the op does not memset).
  const Result result = run_op(inputs, index, grad);
  EXPECT_TRUE(torch::equal(result.out, torch::zeros_like(result.out)));
  EXPECT_TRUE(torch::equal(result.depth_grad, torch::zeros_like(result.depth_grad)));
  EXPECT_TRUE(torch::equal(result.feat_grad, torch::zeros_like(result.feat_grad)));
}

TEST(VoxelPool, EachSampleHasItsOwnGeometry) {
  const Frustum frustum{3, 2, 5, 3, 4};
  const int64_t channels = 9;
  const torch::Tensor points = random_points(kGrid, frustum, 71);
  const VoxelPoolIndex index = rsd::ops::build_voxel_pool_index(points, kGrid);
  const Inputs inputs = random_inputs(frustum, channels, 72);
  const torch::Tensor grad = torch::randn({3, channels, kGrid.ny(), kGrid.nx()});
  const Result batched = run_op(inputs, index, grad);
  for (int64_t b = 0; b < frustum.batch; ++b) {
    SCOPED_TRACE("sample " + std::to_string(b));
    const VoxelPoolIndex single =
        rsd::ops::build_voxel_pool_index(points.narrow(0, b, 1), kGrid);
    Inputs one{inputs.depth.narrow(0, b, 1), inputs.feat.narrow(0, b, 1)};
    const Result alone = run_op(one, single, grad.narrow(0, b, 1));
    EXPECT_TRUE(torch::equal(alone.out, batched.out.narrow(0, b, 1)));
    EXPECT_TRUE(torch::equal(alone.depth_grad, batched.depth_grad.narrow(0, b, 1)));
    EXPECT_TRUE(torch::equal(alone.feat_grad, batched.feat_grad.narrow(0, b, 1)));
  }
  // The samples' geometries differ, so must their pooled features.
  EXPECT_FALSE(torch::equal(index.cell_of[0], index.cell_of[1]));
}

TEST(VoxelPool, GradcheckInDouble) {
  for (const GridSpec* grid : {&kGrid, &kGridZ3}) {
    const Frustum frustum{2, 2, 3, 2, 3};
    const GridSpec small({-2.0, 2.0, 1.0}, {-1.0, 1.0, 1.0}, grid->z());
    const torch::Tensor points = random_points(small, frustum, 81, torch::kDouble);
    const VoxelPoolIndex index = rsd::ops::build_voxel_pool_index(points, small);
    ASSERT_GT(index.kept(), 0);
    const Inputs inputs = random_inputs(frustum, 3, 82, torch::kDouble);
    EXPECT_TRUE(rsd::test::gradcheck(
        [&](const std::vector<torch::Tensor>& x) { return rsd::ops::voxel_pool(x[0], x[1], index); },
        {inputs.depth, inputs.feat}));
  }
}

TEST(VoxelPool, AcceptsNonContiguousInputsAndChannelsLastGradients) {
  const Frustum frustum{2, 2, 5, 3, 4};
  const int64_t channels = 7;
  const torch::Tensor points = random_points(kGrid, frustum, 91);
  const VoxelPoolIndex index = rsd::ops::build_voxel_pool_index(points, kGrid);
  const Inputs inputs = random_inputs(frustum, channels, 92);
  const torch::Tensor grad = torch::randn({2, channels, kGrid.ny(), kGrid.nx()});
  const Result plain = run_op(inputs, index, grad);
  // feat as a channel-first tensor transposed at the boundary; gradient in channels-last layout.
  const torch::Tensor feat_cf = inputs.feat.detach().permute({0, 1, 4, 2, 3}).contiguous();
  const torch::Tensor feat = feat_cf.permute({0, 1, 3, 4, 2}).requires_grad_(true);
  ASSERT_FALSE(feat.is_contiguous());
  const torch::Tensor depth = inputs.depth.detach().clone().requires_grad_(true);
  const torch::Tensor out = rsd::ops::voxel_pool(depth, feat, index);
  out.backward(grad.contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::equal(out, plain.out));
  EXPECT_TRUE(torch::equal(depth.grad(), plain.depth_grad));
  EXPECT_TRUE(torch::equal(feat.grad(), plain.feat_grad));
}

// ----- determinism ------------------------------------------------------------------------------

TEST(VoxelPool, BitwiseIdenticalAcrossRunsAndThreadCounts) {
  // 9216 points: the counting sort takes one point range per thread once there are 4096 points
  // per range, so 1, 2 and 4 threads build the index from 1, 2 and 3 ranges.
  const Frustum frustum{2, 3, 16, 8, 12};
  const int64_t channels = 40;
  const torch::Tensor points = random_points(kGrid, frustum, 101);
  const Inputs inputs = random_inputs(frustum, channels, 102);
  const torch::Tensor grad = torch::randn({2, channels, kGrid.ny(), kGrid.nx()});
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const VoxelPoolIndex index_one = rsd::ops::build_voxel_pool_index(points, kGrid);
  const Result one = run_op(inputs, index_one, grad);
  const Result again = run_op(inputs, index_one, grad);
  std::vector<Result> threaded;
  for (const int count : {2, 4}) {
    SCOPED_TRACE(std::to_string(count) + " threads");
    at::set_num_threads(count);
    const VoxelPoolIndex index = rsd::ops::build_voxel_pool_index(points, kGrid);
    expect_same_index(index_one, index);
    threaded.push_back(run_op(inputs, index, grad));
  }
  at::set_num_threads(threads);
  expect_identical(one, again);
  for (const Result& result : threaded) expect_identical(one, result);
}

// ----- half and bfloat16 ------------------------------------------------------------------------

// The unit roundoff of a 16-bit float type: rounding to nearest moves a (normal) value by at most
// this fraction of its magnitude (11 significant bits for half, 8 for bfloat16).
double unit_roundoff(torch::Dtype dtype) {
  return std::ldexp(1.0, dtype == torch::kHalf ? -11 : -8);
}

// max |actual - expected| / (|expected| + floor) over elements, floor = 1e-3 * max |expected|:
// the error relative to each element's own magnitude, the floor keeping elements near zero
// (cancellation, half's subnormals) from dominating.
double relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  const torch::Tensor a = actual.to(torch::kDouble).cpu();
  const torch::Tensor e = expected.to(torch::kDouble).cpu();
  const double floor = std::max(1e-3 * e.abs().max().item<double>(), 1e-30);
  return ((a - e).abs() / (e.abs() + floor)).max().item<double>();
}

// The op on `dtype` inputs on `device` against the fp32 op on the CPU on the same, already
// rounded, inputs and gradient, so that only the op's 16-bit arithmetic is measured: output and
// both gradients have the input's dtype and lie within `roundoffs` unit roundoffs of each element.
// Summing in 16 bits instead of fp32 would miss this by far on long cells. On CUDA it also checks
// that a second run is bitwise identical.
void check_16_bit_against_fp32(const torch::Tensor& points, const GridSpec& grid,
                               const Frustum& frustum, int64_t channels, uint64_t seed,
                               torch::Dtype dtype, const torch::Device& device, double roundoffs,
                               const std::string& label) {
  SCOPED_TRACE(label + ", " + std::string(c10::toString(dtype)) + " on " + device.str() +
               ", C = " + std::to_string(channels));
  const VoxelPoolIndex cpu_index = rsd::ops::build_voxel_pool_index(points, grid);
  const VoxelPoolIndex index = rsd::ops::build_voxel_pool_index(points.to(device), grid);
  const Inputs drawn = random_inputs(frustum, channels, seed);
  const torch::Tensor depth = drawn.depth.detach().to(dtype);
  const torch::Tensor feat = drawn.feat.detach().to(dtype);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed + 1);
  const torch::Tensor grad =
      torch::randn({frustum.batch, grid.nz() * channels, grid.ny(), grid.nx()}, generator)
          .to(dtype);
  const Result expected = run_op(Inputs{depth.to(torch::kFloat), feat.to(torch::kFloat)},
                                 cpu_index, grad.to(torch::kFloat));
  const Inputs inputs{depth.to(device), feat.to(device)};
  const Result actual = run_op(inputs, index, grad.to(device));
  const double tolerance = roundoffs * unit_roundoff(dtype);
  const std::pair<const char*, std::pair<torch::Tensor, torch::Tensor>> parts[] = {
      {"output", {actual.out, expected.out}},
      {"depth_grad", {actual.depth_grad, expected.depth_grad}},
      {"feat_grad", {actual.feat_grad, expected.feat_grad}}};
  for (const auto& [name, pair] : parts) {
    EXPECT_EQ(pair.first.scalar_type(), dtype) << name;
    EXPECT_EQ(pair.first.device(), device) << name;
    const double error = relative_error(pair.first, pair.second);
    EXPECT_LE(error, tolerance) << name << ": relative error " << error;
    ::testing::Test::RecordProperty(
        label + "." + c10::toString(dtype) + "." + device.str() + "." + name, c10::str(error));
  }
  if (device.is_cuda()) expect_identical(actual, run_op(inputs, index, grad.to(device)));
}

// Every frustum point of (1, 4, 30, 5, 8) in the cell (x 3, y 2) of kGrid: one sum of 4800 terms.
torch::Tensor one_cell_points() {
  return torch::tensor({-2.25, -1.75, 0.0}, torch::kDouble).expand({1, 4, 30, 5, 8, 3}).contiguous();
}

// A 16-bit result is the fp32 result rounded once, so it is off by at most one unit roundoff of
// its own magnitude (on the CPU the float kernels run on the widened inputs).
constexpr double kCpuRoundoffs = 1.0;
// CUDA sums in another order than the CPU, so its fp32 result differs in the last bits and may
// round to the neighbouring 16-bit value.
constexpr double kCudaRoundoffs = 2.0;

TEST(VoxelPool, HalfAndBFloat16SumInFloatAndKeepTheirDtype) {
  const Frustum frustum{2, 3, 16, 8, 12};
  const torch::Tensor points = random_points(kGrid, frustum, 141);
  const torch::Tensor points_z3 = random_points(kGridZ3, frustum, 142);
  for (const torch::Dtype dtype : {torch::kHalf, torch::kBFloat16}) {
    check_16_bit_against_fp32(points, kGrid, frustum, 24, 143, dtype, torch::kCPU,
                              kCpuRoundoffs, "random");
    check_16_bit_against_fp32(points_z3, kGridZ3, frustum, 5, 144, dtype, torch::kCPU,
                              kCpuRoundoffs, "random_z3");
    check_16_bit_against_fp32(one_cell_points(), kGrid, {1, 4, 30, 5, 8}, 19, 145, dtype,
                              torch::kCPU, kCpuRoundoffs, "one_cell");
  }
}

TEST(VoxelPool, HalfWithAChannelsLastGradientMatchesAContiguousOne) {
  const Frustum frustum{2, 2, 5, 3, 4};
  const int64_t channels = 7;
  const VoxelPoolIndex index =
      rsd::ops::build_voxel_pool_index(random_points(kGrid, frustum, 151), kGrid);
  const Inputs drawn = random_inputs(frustum, channels, 152);
  const Inputs inputs{drawn.depth.detach().to(torch::kHalf), drawn.feat.detach().to(torch::kHalf)};
  const torch::Tensor grad = torch::randn({2, channels, kGrid.ny(), kGrid.nx()}).to(torch::kHalf);
  expect_identical(run_op(inputs, index, grad.contiguous(torch::MemoryFormat::ChannelsLast)),
                   run_op(inputs, index, grad));
}

TEST(VoxelPool, MetaKeepsTheHalfAndBFloat16Dtypes) {
  const Frustum frustum{2, 3, 5, 4, 6};
  const int64_t channels = 7;
  const auto meta = torch::TensorOptions().device(torch::kMeta);
  std::vector<int64_t> points_shape = frustum.shape();
  points_shape.push_back(3);
  const VoxelPoolIndex index =
      rsd::ops::build_voxel_pool_index(torch::empty(points_shape, meta), kGridZ3);
  for (const torch::Dtype dtype : {torch::kHalf, torch::kBFloat16}) {
    const torch::Tensor depth = torch::empty(frustum.shape(), meta.dtype(dtype)).requires_grad_(true);
    const torch::Tensor feat =
        torch::empty(frustum.feat_shape(channels), meta.dtype(dtype)).requires_grad_(true);
    const torch::Tensor out = rsd::ops::voxel_pool(depth, feat, index);
    EXPECT_TRUE(out.is_meta());
    EXPECT_EQ(out.scalar_type(), dtype);
    EXPECT_EQ(out.sizes(), torch::IntArrayRef({2, kGridZ3.nz() * channels, kGridZ3.ny(), kGridZ3.nx()}));
    out.sum().backward();
    ASSERT_TRUE(depth.grad().defined() && feat.grad().defined());
    EXPECT_EQ(depth.grad().scalar_type(), dtype);
    EXPECT_EQ(feat.grad().scalar_type(), dtype);
    EXPECT_EQ(depth.grad().sizes(), depth.sizes());
    EXPECT_EQ(feat.grad().sizes(), feat.sizes());
    // The dtype check runs on meta too.
    EXPECT_THROW(rsd::ops::voxel_pool(depth, torch::empty(frustum.feat_shape(channels), meta), index),
                 rsd::Error);
  }
}

// ----- contract ---------------------------------------------------------------------------------

// The action throws an rsd::Error whose message mentions `fragment`.
void expect_refusal(const std::function<void()>& action, const std::string& fragment) {
  const std::string message = rsd::test::error_message(action);
  EXPECT_NE(message.find(fragment), std::string::npos)
      << "'" << message << "' lacks '" << fragment << "'";
}

TEST(VoxelPool, RefusesMismatchedInputsWithClearMessages) {
  const Frustum frustum{1, 2, 3, 2, 2};
  const VoxelPoolIndex index = rsd::ops::build_voxel_pool_index(random_points(kGrid, frustum, 111), kGrid);
  const torch::Tensor depth = torch::rand(frustum.shape());
  const torch::Tensor feat = torch::rand(frustum.feat_shape(4));
  expect_refusal([&] { rsd::ops::voxel_pool(depth.narrow(2, 0, 2), feat, index); },
                 "does not match the index");
  expect_refusal([&] { rsd::ops::voxel_pool(depth, feat.permute({0, 1, 4, 2, 3}), index); },
                 "channel-last");
  expect_refusal([&] { rsd::ops::voxel_pool(depth, feat.to(torch::kDouble), index); }, "Double");
  expect_refusal([&] { rsd::ops::voxel_pool(depth.to(torch::kHalf), feat, index); },
                 "depth is Half but feat is Float");
  expect_refusal([&] { rsd::ops::voxel_pool(depth, feat.to(torch::kBFloat16), index); },
                 "depth is Float but feat is BFloat16");
  expect_refusal(
      [&] { rsd::ops::voxel_pool(depth.to(torch::kInt), feat.to(torch::kInt), index); },
      "must be float, double, half or bfloat16, got Int");
  expect_refusal([&] { rsd::ops::voxel_pool(depth, feat, VoxelPoolIndex{}); }, "index is empty");
  expect_refusal([&] { rsd::ops::set_voxel_pool_cpu_variant("sse9"); }, "known: auto");
}

TEST(VoxelPool, SecondDerivativeIsRefused) {
  const Frustum frustum{1, 1, 3, 2, 2};
  const VoxelPoolIndex index =
      rsd::ops::build_voxel_pool_index(random_points(kGrid, frustum, 121, torch::kDouble), kGrid);
  const Inputs inputs = random_inputs(frustum, 2, 122, torch::kDouble);
  const torch::Tensor out = rsd::ops::voxel_pool(inputs.depth, inputs.feat, index);
  const auto grads = torch::autograd::grad({out.pow(2).sum()}, {inputs.depth}, {}, true, true);
  EXPECT_THROW(grads[0].sum().backward(), std::exception);
}

// ----- CUDA -------------------------------------------------------------------------------------

class VoxelPoolCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device (libtorch without CUDA or no GPU)";
    if (!rsd::ops::voxel_pool_cuda_available()) {
      GTEST_SKIP() << "librsd was built without CUDA kernels linked (RSD_WITH_CUDA / libtorch CUDA)";
    }
  }
};

TEST_F(VoxelPoolCudaTest, MatchesCpuAndRepeats_CUDA) {
  const Frustum frustum{2, 3, 12, 4, 8};
  const int64_t channels = 40;
  const torch::Tensor points = random_points(kGridZ3, frustum, 131);
  const VoxelPoolIndex cpu_index = rsd::ops::build_voxel_pool_index(points, kGridZ3);
  const VoxelPoolIndex gpu_index = rsd::ops::build_voxel_pool_index(points.cuda(), kGridZ3);
  expect_same_index(cpu_index, VoxelPoolIndex{gpu_index.cell_ptr.cpu(), gpu_index.point_depth.cpu(),
                                              gpu_index.point_feat.cpu(), gpu_index.cell_of.cpu(),
                                              gpu_index.pixel_kept_prefix.cpu()});
  const Inputs inputs = random_inputs(frustum, channels, 132);
  const torch::Tensor grad = torch::randn({2, 3 * channels, kGridZ3.ny(), kGridZ3.nx()});
  const Result cpu = run_op(inputs, cpu_index, grad);
  const Inputs gpu_inputs{inputs.depth.detach().cuda(), inputs.feat.detach().cuda()};
  const Result gpu = run_op(gpu_inputs, gpu_index, grad.cuda());
  const Result gpu_again = run_op(gpu_inputs, gpu_index, grad.cuda());
  expect_close(Result{gpu.out.cpu(), gpu.depth_grad.cpu(), gpu.feat_grad.cpu()}, cpu, 1e-5, 1e-6);
  expect_identical(gpu, gpu_again);
}

TEST_F(VoxelPoolCudaTest, HalfAndBFloat16MatchCpuFloat_CUDA) {
  // C = 24 and 136 take 4 channels per thread (136: two 128-channel passes whose depth-gradient
  // sums meet in fp32), C = 5 and 19 one; Z = 3 collapses height bins; one cell of 4800 points.
  const Frustum frustum{2, 3, 16, 8, 12};
  const torch::Tensor points = random_points(kGrid, frustum, 161);
  const torch::Tensor points_z3 = random_points(kGridZ3, frustum, 162);
  for (const torch::Dtype dtype : {torch::kHalf, torch::kBFloat16}) {
    check_16_bit_against_fp32(points, kGrid, frustum, 24, 163, dtype, torch::kCUDA,
                              kCudaRoundoffs, "random");
    check_16_bit_against_fp32(points, kGrid, frustum, 136, 164, dtype, torch::kCUDA,
                              kCudaRoundoffs, "random_two_passes");
    check_16_bit_against_fp32(points_z3, kGridZ3, frustum, 5, 165, dtype, torch::kCUDA,
                              kCudaRoundoffs, "random_z3");
    check_16_bit_against_fp32(one_cell_points(), kGrid, {1, 4, 30, 5, 8}, 19, 166, dtype,
                              torch::kCUDA, kCudaRoundoffs, "one_cell");
  }
}

}  // namespace
