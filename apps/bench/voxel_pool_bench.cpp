#include "bench/voxel_pool_bench.h"

#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <c10/core/CPUAllocator.h>
#include <torch/autograd.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <iostream>
#include <memory>
#include <vector>

#include "bench/bench_model.h"
#include "bench/copy_bandwidth.h"
#include "bench/memory_accounting.h"
#include "rsd/geometry/grid_spec.h"
#include "rsd/model/lift_splat.h"
#include "rsd/ops/voxel_pool.h"
#include "rsd/pipeline/device.h"
#include "rsd/util/error.h"

namespace rsd::bench {
namespace {

// ----- configurations and rig ----------------------------------------------------------------

struct PoolConfig {
  const char* name;
  int64_t stride;
  double depth_min, depth_max, depth_step;
  double half_extent, cell;  // x and y: [-half_extent, half_extent) in cells of `cell` metres
  double z_min, z_max;       // one height bin
};

// ../shared/docs/voxel-pooling.md §9.2: A = BEVDet-R50, B = the BEVFusion camera branch.
const PoolConfig kConfigA{"A (BEVDet: 256x704 /16, D 59, 128x128 @ 0.8 m)", 16, 1.0, 60.0, 1.0,
                          51.2, 0.8, -5.0, 3.0};
const PoolConfig kConfigB{"B (BEVFusion camera: 256x704 /8, D 118, 256x256 @ 0.4 m)", 8, 1.0, 60.0,
                          0.5, 51.2, 0.4, -10.0, 10.0};

// Bench2Drive's six cameras (bench2drive-format.md §4; CARLA frame: y right, yaw clockwise), all
// 1600x900 with the principal point at the centre.
struct RigCamera {
  double x, y, z, yaw_deg, focal;
};
const RigCamera kRig[6] = {
    {0.80, 0.00, 1.60, 0.0, 1142.518405},    {0.27, -0.55, 1.60, -55.0, 1142.518405},
    {0.27, 0.55, 1.60, 55.0, 1142.518405},   {-2.00, 0.00, 1.60, 180.0, 560.166031},
    {-0.32, -0.55, 1.60, -110.0, 1142.518405}, {-0.32, 0.55, 1.60, 110.0, 1142.518405}};
constexpr double kResize = 0.44;    // 1600x900 -> 704x396 (BEVDet's test-time resize)
constexpr double kCropTop = 140.0;  // keep the bottom 256 rows

torch::Tensor matrix(std::initializer_list<double> values, int64_t n) {
  return torch::tensor(std::vector<double>(values), torch::kDouble).view({n, n});
}

torch::Tensor yaw_about_z(double yaw) {
  const double c = std::cos(yaw), s = std::sin(yaw);
  return matrix({c, -s, 0, 0, s, c, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, 4);
}

struct Geometry {
  torch::Tensor intrinsics, img_aug, cam2ego;  // (B, 6, 3, 3), (B, 6, 3, 3), (B, 6, 4, 4)
};

// Sample 0 is the rig as mounted; later samples get a BEV augmentation of their own (rotation
// within +-22.5 deg, scale 0.95-1.05, a y flip every other sample), as in training.
Geometry rig_geometry(int64_t batch) {
  std::vector<torch::Tensor> intrinsics, img_aug, cam2ego;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(2024);
  for (int64_t b = 0; b < batch; ++b) {
    torch::Tensor bev = torch::eye(4, torch::kDouble);
    if (b > 0) {
      const auto u = torch::rand({2}, generator, torch::kDouble);
      const double yaw = (u[0].item<double>() * 2.0 - 1.0) * 22.5 * M_PI / 180.0;
      const double scale = 0.95 + 0.1 * u[1].item<double>();
      const double flip = b % 2 == 0 ? -1.0 : 1.0;
      bev = torch::matmul(matrix({scale, 0, 0, 0, 0, scale * flip, 0, 0, 0, 0, scale, 0, 0, 0, 0, 1}, 4),
                          yaw_about_z(yaw));
    }
    for (const RigCamera& camera : kRig) {
      intrinsics.push_back(matrix({camera.focal, 0, 800, 0, camera.focal, 450, 0, 0, 1}, 3));
      img_aug.push_back(matrix({kResize, 0, 0, 0, kResize, -kCropTop, 0, 0, 1}, 3));
      // OpenCV camera -> forward-looking camera in the right-handed ego frame, then the mount.
      torch::Tensor mount = torch::matmul(
          yaw_about_z(-camera.yaw_deg * M_PI / 180.0),
          matrix({0, 0, 1, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 1}, 4));
      mount[0][3] = camera.x;
      mount[1][3] = -camera.y;
      mount[2][3] = camera.z;
      cam2ego.push_back(torch::matmul(bev, mount));
    }
  }
  return {torch::stack(intrinsics).view({batch, 6, 3, 3}), torch::stack(img_aug).view({batch, 6, 3, 3}),
          torch::stack(cam2ego).view({batch, 6, 4, 4})};
}

// ----- baselines -----------------------------------------------------------------------------

// (B, Z, Y, X, C) channel-last cell rows -> (B, Z*C, Y, X), as the op returns.
torch::Tensor cells_to_bev(const torch::Tensor& rows, const rsd::ops::VoxelPoolIndex& index) {
  const int64_t channels = rows.size(-1);
  return rows.view({index.batch, index.nz, index.ny, index.nx, channels})
      .permute({0, 1, 4, 2, 3})
      .reshape({index.batch, index.nz * channels, index.ny, index.nx});
}

// ../shared/docs/voxel-pooling.md §6.3: materialise (B, N, D, fH, fW, C), then index_add_ every
// row into its cell; points outside the grid go to a dummy row. Backward through autograd.
torch::Tensor naive_pool(const torch::Tensor& depth, const torch::Tensor& feat,
                         const torch::Tensor& rows_with_dummy,
                         const rsd::ops::VoxelPoolIndex& index) {
  const int64_t channels = feat.size(-1);
  const int64_t cells = index.batch * index.cells_per_sample();
  const torch::Tensor frustum = depth.unsqueeze(-1) * feat.unsqueeze(2);
  const torch::Tensor summed = torch::zeros({cells + 1, channels}, depth.options())
                                   .index_add(0, rows_with_dummy, frustum.view({-1, channels}));
  return cells_to_bev(summed.narrow(0, 0, cells), index);
}

// LSS's QuickCumsum (lift-splat-shoot src/tools.py): prefix sums over the points sorted by cell,
// kept at the last point of each cell and differenced; the backward broadcasts each cell's
// gradient to its points.
class QuickCumsum : public torch::autograd::Function<QuickCumsum> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& ranks) {
    // 16-bit x: prefix sums in fp32, as CUDA autocast runs cumsum (and 1.13 has no CPU half
    // cumsum); the differences are rounded back to x's dtype.
    const bool narrow = x.scalar_type() == torch::kHalf || x.scalar_type() == torch::kBFloat16;
    torch::Tensor sums = narrow ? x.cumsum(0, torch::kFloat) : x.cumsum(0);
    torch::Tensor kept = torch::ones({x.size(0)}, x.options().dtype(torch::kBool));
    kept.narrow(0, 0, x.size(0) - 1).copy_(ranks.narrow(0, 1, x.size(0) - 1) !=
                                           ranks.narrow(0, 0, x.size(0) - 1));
    sums = sums.index({kept});
    sums = torch::cat({sums.narrow(0, 0, 1),
                       sums.narrow(0, 1, sums.size(0) - 1) - sums.narrow(0, 0, sums.size(0) - 1)});
    ctx->save_for_backward({kept});
    return narrow ? sums.to(x.scalar_type()) : sums;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const torch::Tensor kept = ctx->get_saved_variables()[0];
    torch::Tensor back = torch::cumsum(kept, 0);
    back.index_put_({kept}, back.index({kept}) - 1);
    return {grads[0].index({back}), torch::Tensor()};
  }
};

// The geometry-only part of the cumsum trick, timed apart like the op's index build: the kept
// points in cell order (LSS masks, then argsorts the ranks) and the cell of each kept point.
struct CumsumPlan {
  torch::Tensor order;  // kept frustum points sorted by cell
  torch::Tensor ranks;  // their cells
  torch::Tensor interval_cells;  // the cell of each interval (unique ranks)
};

CumsumPlan cumsum_plan(const torch::Tensor& cell_of) {
  const torch::Tensor cells = cell_of.reshape({-1}).to(torch::kLong);
  const torch::Tensor kept = torch::nonzero(cells >= 0).reshape({-1});
  const torch::Tensor ranks = cells.index({kept});
  const torch::Tensor sorts = ranks.argsort();
  CumsumPlan plan{kept.index({sorts}), ranks.index({sorts}), {}};
  plan.interval_cells = std::get<0>(torch::unique_consecutive(plan.ranks));
  return plan;
}

torch::Tensor cumsum_pool(const torch::Tensor& depth, const torch::Tensor& feat,
                          const CumsumPlan& plan, const rsd::ops::VoxelPoolIndex& index) {
  const int64_t channels = feat.size(-1);
  const int64_t cells = index.batch * index.cells_per_sample();
  const torch::Tensor frustum = (depth.unsqueeze(-1) * feat.unsqueeze(2)).view({-1, channels});
  const torch::Tensor sums = QuickCumsum::apply(frustum.index({plan.order}), plan.ranks);
  const torch::Tensor rows =
      torch::zeros({cells, channels}, depth.options()).index_copy(0, plan.interval_cells, sums);
  return cells_to_bev(rows, index);
}

// ----- statistics ----------------------------------------------------------------------------

double quantile_of(const torch::Tensor& sorted, double q) {
  if (sorted.numel() == 0) return 0.0;
  const auto position = static_cast<int64_t>(std::llround(q * static_cast<double>(sorted.numel() - 1)));
  return sorted[position].item<double>();
}

// `expected` is computed in fp32. A 16-bit result may be off by its own rounding: two unit
// roundoffs (2^-11 half, 2^-8 bfloat16) of each element, or of a hundredth of the largest one.
void check_close(const torch::Tensor& actual, const torch::Tensor& expected, const char* what) {
  const torch::Tensor widened = actual.to(torch::kFloat);
  double rtol = 1e-4, atol = 1e-4;
  if (actual.scalar_type() == torch::kHalf || actual.scalar_type() == torch::kBFloat16) {
    rtol = std::ldexp(2.0, actual.scalar_type() == torch::kHalf ? -11 : -8);
    atol = rtol * 1e-2 * expected.abs().max().item<double>();
  }
  RSD_CHECK(torch::allclose(widened, expected, rtol, atol), "voxel-pool bench: the op's ", what,
            " differs from the naive baseline's (max |diff| ",
            (widened - expected).abs().max().item<double>(), "); not timing a wrong result");
}

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "half") return torch::kHalf;
  if (name == "bfloat16") return torch::kBFloat16;
  return torch::kFloat;  // the flag's check admits nothing else
}

}  // namespace

void add_voxel_pool_flags(CLI::App& command, VoxelPoolBenchOptions& options) {
  command.add_option("--config", options.config, "A: BEVDet sizes; B: BEVFusion camera sizes")
      ->check(CLI::IsMember({"A", "B"}));
  command.add_option("--batch", options.batch, "samples, each with its own geometry")
      ->check(CLI::PositiveNumber);
  command.add_option("--channels", options.channels, "context channels C")->check(CLI::PositiveNumber);
  command.add_option("--cpu-kernels", options.cpu_variant,
                     "CPU kernel variant: auto, avx512, avx2 or baseline");
  command.add_flag("--skip-baselines", options.skip_baselines,
                   "time only the op (no naive or cumsum baselines, no copy bandwidth)");
  command.add_option("--device", options.device,
                     "auto, cpu, cuda or cuda:N (as run.device); the op and both baselines run there")
      ->capture_default_str();
  command.add_option("--dtype", options.dtype,
                     "depth, feat and gradient dtype for the op and both baselines (the op sums "
                     "half and bfloat16 in fp32; it is checked against the fp32 naive baseline)")
      ->check(CLI::IsMember({"float", "half", "bfloat16"}))
      ->capture_default_str();
}

int run_voxel_pool_bench(const Settings& settings, const VoxelPoolBenchOptions& options) {
  const torch::Device device = rsd::pipeline::resolve_device(
      rsd::pipeline::parse_device(options.device, "--device"), 0,
      rsd::pipeline::DeviceAvailability::of_this_process(), "--device");
  rsd::ops::set_voxel_pool_cpu_variant(options.cpu_variant);
  const PoolConfig& config = options.config == "B" ? kConfigB : kConfigA;
  const GridSpec grid({-config.half_extent, config.half_extent, config.cell},
                      {-config.half_extent, config.half_extent, config.cell},
                      {config.z_min, config.z_max, config.z_max - config.z_min});
  rsd::model::LiftSplatOptions lift(1, grid, 256, 704);
  lift.stride(config.stride).depth_min(config.depth_min).depth_max(config.depth_max).depth_step(config.depth_step);
  const int64_t batch = options.batch;
  const int64_t cameras = 6;
  const int64_t bins = lift.depth_bins();
  const int64_t height = lift.feature_height();
  const int64_t width = lift.feature_width();
  const int64_t channels = options.channels;

  // Geometry, index and inputs.
  const Geometry geometry = rig_geometry(batch);
  const torch::Tensor points = rsd::model::frustum_to_ego(
      rsd::model::make_frustum(lift, torch::kFloat), geometry.intrinsics.to(device),
      geometry.img_aug.to(device), geometry.cam2ego.to(device));
  const auto index = std::make_shared<rsd::ops::VoxelPoolIndex>(rsd::ops::build_voxel_pool_index(points, grid));
  auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
  // Drawn on the CPU (the same numbers on every device), then moved.
  const torch::Dtype dtype = parse_dtype(options.dtype);
  const torch::Tensor depth =
      torch::softmax(2.0 * torch::randn({batch, cameras, bins, height, width}, generator), 2)
          .to(device, dtype);
  const torch::Tensor feat =
      torch::randn({batch, cameras, height, width, channels}, generator).to(device, dtype);
  const torch::Tensor grad =
      torch::randn({batch, grid.nz() * channels, grid.ny(), grid.nx()}, generator).to(device, dtype);
  const torch::Tensor depth_rg = depth.clone().requires_grad_(true);
  const torch::Tensor feat_rg = feat.clone().requires_grad_(true);
  const int64_t cells = batch * grid.cells();
  const torch::Tensor rows_with_dummy = [&] {
    const torch::Tensor cell = index->cell_of.reshape({-1}).to(torch::kLong);
    return torch::where(cell >= 0, cell, torch::full_like(cell, cells));
  }();
  const CumsumPlan plan = cumsum_plan(index->cell_of);

  const auto ours_fwd_bwd = [&] {
    const torch::Tensor out = rsd::ops::voxel_pool(depth_rg, feat_rg, *index);
    return torch::autograd::grad({out}, {depth_rg, feat_rg}, {grad});
  };
  const auto naive_fwd_bwd = [&] {
    const torch::Tensor out = naive_pool(depth_rg, feat_rg, rows_with_dummy, *index);
    return torch::autograd::grad({out}, {depth_rg, feat_rg}, {grad});
  };
  const auto cumsum_fwd_bwd = [&] {
    const torch::Tensor out = cumsum_pool(depth_rg, feat_rg, plan, *index);
    return torch::autograd::grad({out}, {depth_rg, feat_rg}, {grad});
  };

  // Correctness gate: the op, the naive path and the cumsum trick agree before anything is timed.
  // The references run in fp32 on the same (for 16-bit dtypes: rounded) inputs.
  const torch::Tensor depth_fp32 = depth.to(torch::kFloat).detach().requires_grad_(true);
  const torch::Tensor feat_fp32 = feat.to(torch::kFloat).detach().requires_grad_(true);
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor ours = rsd::ops::voxel_pool(depth, feat, *index);
    const torch::Tensor naive = naive_pool(depth_fp32, feat_fp32, rows_with_dummy, *index);
    check_close(ours, naive, "output");
    check_close(cumsum_pool(depth_fp32, feat_fp32, plan, *index), naive, "output (cumsum trick)");
  }
  const auto ours_grads = ours_fwd_bwd();
  const auto naive_grads =
      torch::autograd::grad({naive_pool(depth_fp32, feat_fp32, rows_with_dummy, *index)},
                            {depth_fp32, feat_fp32}, {grad.to(torch::kFloat)});
  check_close(ours_grads[0], naive_grads[0], "depth gradient");
  check_close(ours_grads[1], naive_grads[1], "feat gradient");

  // Peak extra memory of one forward + backward, each path on its own.
  const double mib = 1024.0 * 1024.0;
  const double ours_peak = static_cast<double>(peak_extra_bytes([&] { ours_fwd_bwd(); })) / mib;
  double naive_peak = 0.0, cumsum_peak = 0.0;
  if (!options.skip_baselines) {
    naive_peak = static_cast<double>(peak_extra_bytes([&] { naive_fwd_bwd(); })) / mib;
    cumsum_peak = static_cast<double>(peak_extra_bytes([&] { cumsum_fwd_bwd(); })) / mib;
  }

  // The timings.
  time_on_device(device, "voxel_pool/index_build", [&] { benchmark::DoNotOptimize(rsd::ops::build_voxel_pool_index(points, grid)); });
  time_on_device(device, "voxel_pool/forward", [&] {
    torch::NoGradGuard no_grad;
    benchmark::DoNotOptimize(rsd::ops::voxel_pool(depth, feat, *index));
  });
  const torch::Tensor ours_out = rsd::ops::voxel_pool(depth_rg, feat_rg, *index);
  time_on_device(device, "voxel_pool/backward", [&] {
    benchmark::DoNotOptimize(torch::autograd::grad({ours_out}, {depth_rg, feat_rg}, {grad}, true));
  });
  time_on_device(device, "voxel_pool/forward_backward", [&] { benchmark::DoNotOptimize(ours_fwd_bwd()); });
  time_on_device(device, "voxel_pool/index_forward_backward", [&] {
    const auto fresh = rsd::ops::build_voxel_pool_index(points, grid);
    const torch::Tensor out = rsd::ops::voxel_pool(depth_rg, feat_rg, fresh);
    benchmark::DoNotOptimize(torch::autograd::grad({out}, {depth_rg, feat_rg}, {grad}));
  });
  torch::Tensor naive_out, cumsum_out;
  if (!options.skip_baselines) {
    time_on_device(device, "naive/forward", [&] {
      torch::NoGradGuard no_grad;
      benchmark::DoNotOptimize(naive_pool(depth, feat, rows_with_dummy, *index));
    });
    naive_out = naive_pool(depth_rg, feat_rg, rows_with_dummy, *index);
    time_on_device(device, "naive/backward", [&] {
      benchmark::DoNotOptimize(torch::autograd::grad({naive_out}, {depth_rg, feat_rg}, {grad}, true));
    });
    time_on_device(device, "naive/forward_backward", [&] { benchmark::DoNotOptimize(naive_fwd_bwd()); });
    time_on_device(device, "cumsum/index_build", [&] { benchmark::DoNotOptimize(cumsum_plan(index->cell_of)); });
    time_on_device(device, "cumsum/forward", [&] {
      torch::NoGradGuard no_grad;
      benchmark::DoNotOptimize(cumsum_pool(depth, feat, plan, *index));
    });
    cumsum_out = cumsum_pool(depth_rg, feat_rg, plan, *index);
    time_on_device(device, "cumsum/backward", [&] {
      benchmark::DoNotOptimize(torch::autograd::grad({cumsum_out}, {depth_rg, feat_rg}, {grad}, true));
    });
    time_on_device(device, "cumsum/forward_backward", [&] { benchmark::DoNotOptimize(cumsum_fwd_bwd()); });
    register_copy_benchmarks(std::size_t{256} << 20);
  }
  const auto results = run_registered(settings);

  // Interval statistics of the index (non-empty cells only).
  const torch::Tensor lengths = (index->cell_ptr.narrow(0, 1, cells) - index->cell_ptr.narrow(0, 0, cells)).to(torch::kLong);
  const torch::Tensor intervals = std::get<0>(lengths.index({lengths > 0}).sort());
  const int64_t kept = index->kept();
  const int64_t frustum_points = points.numel() / 3;
  const int64_t feature_rows = batch * cameras * height * width;

  // Compulsory bytes (voxel-pooling.md §7, CSR layout with one int32 per kept point), with
  // values of the bench's dtype: forward = depth of each kept point, feat, the point index,
  // cell_ptr, the output; backward = out_grad, per frustum point its cell, depth and depth_grad,
  // feat and feat_grad.
  const double value = static_cast<double>(c10::elementSize(dtype));
  const double forward_bytes = value * kept + value * feature_rows * channels + 4.0 * kept +
                               4.0 * (cells + 1) + value * cells * channels;
  const double backward_bytes = value * cells * channels + (4.0 + 2.0 * value) * frustum_points +
                                2.0 * value * feature_rows * channels;
  const auto median = [&](const char* name) { return find(results, name).median_s(); };
  const double forward_s = median("voxel_pool/forward");
  const double backward_s = median("voxel_pool/backward");
  const double fwd_bwd_s = median("voxel_pool/forward_backward");

  std::vector<std::pair<std::string, double>> derived{
      {"on_cuda", device.is_cuda() ? 1.0 : 0.0},
      {"batch", static_cast<double>(batch)},
      {"cameras", static_cast<double>(cameras)},
      {"depth_bins", static_cast<double>(bins)},
      {"feature_height", static_cast<double>(height)},
      {"feature_width", static_cast<double>(width)},
      {"channels", static_cast<double>(channels)},
      {"grid_cells", static_cast<double>(cells)},
      {"frustum_points_P", static_cast<double>(frustum_points)},
      {"kept_points_K", static_cast<double>(kept)},
      {"kept_fraction", static_cast<double>(kept) / static_cast<double>(frustum_points)},
      {"nonempty_cells_I", static_cast<double>(intervals.numel())},
      {"interval_mean", intervals.numel() ? intervals.to(torch::kDouble).mean().item<double>() : 0.0},
      {"interval_median", quantile_of(intervals, 0.5)},
      {"interval_p99", quantile_of(intervals, 0.99)},
      {"interval_max", quantile_of(intervals, 1.0)},
      {"index_MiB", static_cast<double>(index->bytes()) / mib},
      {"compulsory_forward_MB", forward_bytes / 1e6},
      {"compulsory_backward_MB", backward_bytes / 1e6},
      {"effective_forward_GBps", forward_bytes / forward_s / 1e9},
      {"effective_backward_GBps", backward_bytes / backward_s / 1e9},
      {"effective_forward_backward_GBps", (forward_bytes + backward_bytes) / fwd_bwd_s / 1e9},
      {"peak_extra_MiB_ours", ours_peak}};
  if (!options.skip_baselines) {
    const double moved = 2.0 * static_cast<double>(std::size_t{256} << 20);
    const double copy_GBps = std::max(moved / median("copy/memcpy"), moved / median("copy/parallel")) / 1e9;
    const double naive_fb = median("naive/forward_backward");
    const double cumsum_fb = median("cumsum/forward_backward");
    derived.insert(derived.end(), {
        {"peak_extra_MiB_naive", naive_peak},
        {"peak_extra_MiB_cumsum", cumsum_peak},
        {"peak_extra_ours_pct_of_naive", 100.0 * ours_peak / naive_peak},
        {"speedup_forward_vs_naive", median("naive/forward") / forward_s},
        {"speedup_backward_vs_naive", median("naive/backward") / backward_s},
        {"speedup_forward_backward_vs_naive", naive_fb / fwd_bwd_s},
        {"speedup_forward_vs_cumsum", median("cumsum/forward") / forward_s},
        {"speedup_forward_backward_vs_cumsum", cumsum_fb / fwd_bwd_s},
        {"speedup_index_build_vs_cumsum_sort", median("cumsum/index_build") / median("voxel_pool/index_build")},
        {"copy_GBps", copy_GBps},
        {"effective_forward_pct_of_copy", 100.0 * forward_bytes / forward_s / 1e9 / copy_GBps},
        {"effective_forward_backward_pct_of_copy",
         100.0 * (forward_bytes + backward_bytes) / fwd_bwd_s / 1e9 / copy_GBps}});
  }
  report(std::string("voxel-pool config ") + config.name + ", " + options.dtype + ", CPU kernels " +
             rsd::ops::voxel_pool_cpu_variant(),
         settings, results, derived);
  return 0;
}

}  // namespace rsd::bench
