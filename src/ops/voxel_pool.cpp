// voxel_pool: input checks, the autograd functions, and the choice between the CPU launcher
// (ops/cpu/) and the CUDA one (ops/cuda/, linked only when libtorch has CUDA).
#include "rsd/ops/voxel_pool.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include "ops/cpu/voxel_pool_cpu.h"
#include "rsd/util/error.h"
#if RSD_TORCH_HAS_CUDA
#include "ops/cuda/voxel_pool_cuda_dispatch.h"
#endif

namespace rsd::ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

detail::PoolIndexView view_of(const VoxelPoolIndex& index) {
  detail::PoolIndexView view;
  view.cell_ptr = index.cell_ptr.data_ptr<int32_t>();
  view.point_depth = index.point_depth.data_ptr<int32_t>();
  view.point_feat = index.point_feat.data_ptr<int32_t>();
  view.cell_of = index.cell_of.data_ptr<int32_t>();
  view.cells = index.batch * index.cells_per_sample();
  view.total_pixels = index.batch * index.cameras * index.height * index.width;
  view.plane = index.ny * index.nx;
  view.depth_bins = index.depth_bins;
  view.pixels = index.height * index.width;
  return view;
}

[[noreturn]] void throw_no_cuda_kernels() {
  throw Error(
      std::string("voxel_pool: CUDA tensors need the CUDA kernels, which this build of librsd does "
                  "not have (") +
      (RSD_CUDA_KERNELS_COMPILED ? "compiled with RSD_WITH_CUDA=ON but not linked: libtorch has no CUDA"
                                 : "configured with RSD_WITH_CUDA=OFF or without nvcc") +
      "); rebuild with RSD_WITH_CUDA=ON against a libtorch with CUDA, or move the tensors to the CPU");
}

void check_device(const torch::Tensor& tensor) {
  if (tensor.is_cuda() && !RSD_TORCH_HAS_CUDA) throw_no_cuda_kernels();
  RSD_CHECK(tensor.is_cpu() || tensor.is_cuda() || tensor.is_meta(),
            "voxel_pool runs on CPU, CUDA or meta (shapes only) tensors, got ", tensor.device());
}

// Half and bfloat16 are storage formats for the op: sums run in fp32 and each result is rounded
// once. The CPU widens them to float and runs the float kernels; CUDA has kernels of its own.
bool is_16_bit_float(torch::ScalarType type) {
  return type == torch::kHalf || type == torch::kBFloat16;
}

// (B, Z*C, Y, X).
std::vector<int64_t> output_sizes(const torch::Tensor& feat, const VoxelPoolIndex& index) {
  return {index.batch, index.nz * feat.size(4), index.ny, index.nx};
}

// Every check of the op, shared by the CPU, CUDA and meta (shape-only) paths; returns the
// output's sizes.
std::vector<int64_t> check_and_shape(const torch::Tensor& depth, const torch::Tensor& feat,
                                     const VoxelPoolIndex& index) {
  RSD_CHECK(index.defined(), "voxel_pool: the index is empty (build it with build_voxel_pool_index)");
  RSD_CHECK(depth.defined() && feat.defined(), "voxel_pool: depth or feat is undefined");
  RSD_CHECK(depth.dim() == 5, "voxel_pool: depth must be (B, N, D, fH, fW), got ", depth.sizes());
  RSD_CHECK(feat.dim() == 5, "voxel_pool: feat must be channel-last (B, N, fH, fW, C), got ",
            feat.sizes());
  const std::vector<int64_t> frustum{index.batch, index.cameras, index.depth_bins, index.height,
                                     index.width};
  RSD_CHECK(depth.sizes() == torch::IntArrayRef(frustum), "voxel_pool: depth ", depth.sizes(),
            " does not match the index's frustum (B, N, D, fH, fW) = ", torch::IntArrayRef(frustum));
  const std::vector<int64_t> feature_rows{index.batch, index.cameras, index.height, index.width};
  RSD_CHECK(feat.sizes().slice(0, 4) == torch::IntArrayRef(feature_rows), "voxel_pool: feat ",
            feat.sizes(), " does not match the index's (B, N, fH, fW) = ",
            torch::IntArrayRef(feature_rows), " (feat is channel-last: (B, N, fH, fW, C))");
  RSD_CHECK(depth.scalar_type() == feat.scalar_type(), "voxel_pool: depth is ",
            depth.scalar_type(), " but feat is ", feat.scalar_type());
  RSD_CHECK(depth.scalar_type() == torch::kFloat || depth.scalar_type() == torch::kDouble ||
                is_16_bit_float(depth.scalar_type()),
            "voxel_pool: depth and feat must be float, double, half or bfloat16, got ",
            depth.scalar_type());
  check_device(depth);
  RSD_CHECK(depth.device() == feat.device() && depth.device() == index.cell_ptr.device(),
            "voxel_pool: depth (", depth.device(), "), feat (", feat.device(), ") and the index (",
            index.cell_ptr.device(), ") must be on one device");
  return output_sizes(feat, index);
}

torch::Tensor pool_forward(const torch::Tensor& depth, const torch::Tensor& feat,
                           const VoxelPoolIndex& index) {
  const int64_t channels = feat.size(4);
  const std::vector<int64_t> out_sizes = output_sizes(feat, index);
  if (depth.is_meta()) return at::empty(out_sizes, depth.options());  // no data to pool
  if (depth.is_cpu() && is_16_bit_float(depth.scalar_type())) {
    return pool_forward(depth.to(torch::kFloat), feat.to(torch::kFloat), index)
        .to(depth.scalar_type());
  }
  torch::Tensor out = torch::empty(out_sizes, depth.options());
  const detail::PoolIndexView view = view_of(index);
  if (depth.is_cuda()) {
#if RSD_TORCH_HAS_CUDA
    cuda::forward(view, depth, feat, channels, out);
#else
    throw_no_cuda_kernels();
#endif
  } else if (depth.scalar_type() == torch::kDouble) {
    cpu::pool_forward(view, depth.data_ptr<double>(), feat.data_ptr<double>(), channels,
                      out.data_ptr<double>());
  } else {
    cpu::pool_forward(view, depth.data_ptr<float>(), feat.data_ptr<float>(), channels,
                      out.data_ptr<float>());
  }
  return out;
}

// The output gradient is read as channel-last rows (cell, C). With Z = 1 a channels-last
// gradient already is; otherwise the CPU gathers one channel tile at a time (a cells x tile
// buffer instead of a full transposed copy) and CUDA transposes it once.
variable_list pool_backward(const torch::Tensor& grad_out, const torch::Tensor& depth,
                            const torch::Tensor& feat, const VoxelPoolIndex& index) {
  const int64_t channels = feat.size(4);
  const std::vector<int64_t> out_shape = output_sizes(feat, index);
  RSD_CHECK(grad_out.sizes() == torch::IntArrayRef(out_shape), "voxel_pool backward: gradient ",
            grad_out.sizes(), " does not match the output ", torch::IntArrayRef(out_shape));
  if (depth.is_meta()) return {at::empty_like(depth), at::empty_like(feat)};
  if (depth.is_cpu() && is_16_bit_float(depth.scalar_type())) {
    // A channels-last gradient stays channels-last (preserve_format).
    const variable_list grads = pool_backward(grad_out.to(torch::kFloat), depth.to(torch::kFloat),
                                              feat.to(torch::kFloat), index);
    return {grads[0].to(depth.scalar_type()), grads[1].to(depth.scalar_type())};
  }
  const torch::Tensor grad = grad_out.to(depth.scalar_type());
  torch::Tensor depth_grad = torch::empty_like(depth);
  torch::Tensor feat_grad = torch::empty_like(feat);
  const detail::PoolIndexView view = view_of(index);
  const bool channel_last = index.nz == 1 && grad.is_contiguous(torch::MemoryFormat::ChannelsLast);
  if (depth.is_cuda()) {
#if RSD_TORCH_HAS_CUDA
    const torch::Tensor rows =
        channel_last ? grad
                     : grad.reshape({index.batch, index.nz, channels, index.ny * index.nx})
                           .permute({0, 1, 3, 2})
                           .contiguous();
    cuda::backward(view, depth, feat, channels, rows, depth_grad, feat_grad);
#else
    throw_no_cuda_kernels();
#endif
    return {depth_grad, feat_grad};
  }
  const torch::Tensor source = channel_last ? grad : grad.contiguous();
  const bool is_double = depth.scalar_type() == torch::kDouble;
  torch::Tensor tile;
  if (!channel_last) {
    tile = torch::empty({view.cells * cpu::backward_pass_width(is_double, channels)},
                        depth.options());
  }
  const int32_t* kept_prefix = index.pixel_kept_prefix.data_ptr<int32_t>();
  if (is_double) {
    cpu::pool_backward(view, kept_prefix, depth.data_ptr<double>(), feat.data_ptr<double>(),
                       channels, source.data_ptr<double>(), channel_last,
                       tile.defined() ? tile.data_ptr<double>() : nullptr,
                       depth_grad.data_ptr<double>(), feat_grad.data_ptr<double>());
  } else {
    cpu::pool_backward(view, kept_prefix, depth.data_ptr<float>(), feat.data_ptr<float>(),
                       channels, source.data_ptr<float>(), channel_last,
                       tile.defined() ? tile.data_ptr<float>() : nullptr,
                       depth_grad.data_ptr<float>(), feat_grad.data_ptr<float>());
  }
  return {depth_grad, feat_grad};
}

// The index travels through autograd's saved data (tensors and integers).
void save_index(AutogradContext* ctx, const VoxelPoolIndex& index) {
  auto& saved = ctx->saved_data;
  saved["cell_ptr"] = index.cell_ptr;
  saved["point_depth"] = index.point_depth;
  saved["point_feat"] = index.point_feat;
  saved["cell_of"] = index.cell_of;
  saved["pixel_kept_prefix"] = index.pixel_kept_prefix;
  saved["shape"] = std::vector<int64_t>{index.batch, index.cameras, index.depth_bins, index.height,
                                        index.width, index.nz,    index.ny,         index.nx};
}

VoxelPoolIndex load_index(AutogradContext* ctx) {
  auto& saved = ctx->saved_data;
  VoxelPoolIndex index;
  index.cell_ptr = saved["cell_ptr"].toTensor();
  index.point_depth = saved["point_depth"].toTensor();
  index.point_feat = saved["point_feat"].toTensor();
  index.cell_of = saved["cell_of"].toTensor();
  index.pixel_kept_prefix = saved["pixel_kept_prefix"].toTensor();
  const auto shape = saved["shape"].toIntVector();
  index.batch = shape[0];
  index.cameras = shape[1];
  index.depth_bins = shape[2];
  index.height = shape[3];
  index.width = shape[4];
  index.nz = shape[5];
  index.ny = shape[6];
  index.nx = shape[7];
  return index;
}

// The backward as a function of its own, so that differentiating it (create_graph) fails loudly
// instead of silently giving a zero second derivative.
class VoxelPoolBackward : public torch::autograd::Function<VoxelPoolBackward> {
 public:
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& grad_out,
                               const torch::Tensor& depth, const torch::Tensor& feat,
                               const VoxelPoolIndex& index) {
    return pool_backward(grad_out, depth, feat, index);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    throw Error("voxel_pool: double backward (a second derivative through the pooling) is not "
                "supported");
  }
};

class VoxelPoolFunction : public torch::autograd::Function<VoxelPoolFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& depth,
                               const torch::Tensor& feat, const VoxelPoolIndex& index) {
    const torch::Tensor depth_in = depth.contiguous();
    const torch::Tensor feat_in = feat.contiguous();
    ctx->save_for_backward({depth_in, feat_in});
    save_index(ctx, index);
    return pool_forward(depth_in, feat_in, index);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const variable_list grads =
        VoxelPoolBackward::apply(grad_outputs[0], saved[0], saved[1], load_index(ctx));
    return {ctx->needs_input_grad(0) ? grads[0] : torch::Tensor(),
            ctx->needs_input_grad(1) ? grads[1] : torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor voxel_pool(const torch::Tensor& depth, const torch::Tensor& feat,
                         const VoxelPoolIndex& index) {
  check_and_shape(depth, feat, index);
  return VoxelPoolFunction::apply(depth, feat, index);
}

bool voxel_pool_cuda_compiled() { return RSD_CUDA_KERNELS_COMPILED; }

bool voxel_pool_cuda_available() { return RSD_TORCH_HAS_CUDA && torch::cuda::is_available(); }

std::vector<std::string> voxel_pool_cpu_variants() { return cpu::available_variants(); }

void set_voxel_pool_cpu_variant(const std::string& name) { cpu::select_variant(name); }

std::string voxel_pool_cpu_variant() { return cpu::selected_variant(); }

}  // namespace rsd::ops
