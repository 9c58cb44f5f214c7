// Built only when libtorch has CUDA (RSD_TORCH_HAS_CUDA): device guard, current stream, launch,
// error check, as torchvision's CUDA ops do.
#include "ops/cuda/voxel_pool_cuda_dispatch.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "ops/cuda/voxel_pool_cuda.h"
#include "rsd/util/error.h"

namespace rsd::ops::cuda {
namespace {

void check_launch(int code, const char* what) {
  RSD_CHECK(code == 0, "voxel_pool: the CUDA ", what, " kernel failed: ", error_text(code));
}

// The launchers' name for a 16-bit dtype (at::Half and __half, at::BFloat16 and __nv_bfloat16
// share their bits).
Float16 float16_format(torch::ScalarType type) {
  if (type == torch::kHalf) return Float16::half;
  RSD_CHECK(type == torch::kBFloat16, "voxel_pool: no CUDA kernel for ", type);
  return Float16::bfloat16;
}

}  // namespace

void forward(const detail::PoolIndexView& index, const torch::Tensor& depth,
             const torch::Tensor& feat, int64_t channels, torch::Tensor& out) {
  const c10::cuda::CUDAGuard guard(depth.device());
  CUstream_st* stream = c10::cuda::getCurrentCUDAStream(depth.device().index()).stream();
  if (depth.scalar_type() == torch::kDouble) {
    check_launch(pool_forward(index, depth.data_ptr<double>(), feat.data_ptr<double>(), channels,
                              out.data_ptr<double>(), stream),
                 "forward");
  } else if (depth.scalar_type() == torch::kFloat) {
    check_launch(pool_forward(index, depth.data_ptr<float>(), feat.data_ptr<float>(), channels,
                              out.data_ptr<float>(), stream),
                 "forward");
  } else {
    check_launch(pool_forward(index, float16_format(depth.scalar_type()), depth.data_ptr(),
                              feat.data_ptr(), channels, out.data_ptr(), stream),
                 "forward");
  }
}

void backward(const detail::PoolIndexView& index, const torch::Tensor& depth,
              const torch::Tensor& feat, int64_t channels, const torch::Tensor& grad_rows,
              torch::Tensor& depth_grad, torch::Tensor& feat_grad) {
  const c10::cuda::CUDAGuard guard(depth.device());
  CUstream_st* stream = c10::cuda::getCurrentCUDAStream(depth.device().index()).stream();
  if (depth.scalar_type() == torch::kDouble) {
    check_launch(pool_backward(index, depth.data_ptr<double>(), feat.data_ptr<double>(), channels,
                               grad_rows.data_ptr<double>(), depth_grad.data_ptr<double>(),
                               feat_grad.data_ptr<double>(), stream),
                 "backward");
  } else if (depth.scalar_type() == torch::kFloat) {
    check_launch(pool_backward(index, depth.data_ptr<float>(), feat.data_ptr<float>(), channels,
                               grad_rows.data_ptr<float>(), depth_grad.data_ptr<float>(),
                               feat_grad.data_ptr<float>(), stream),
                 "backward");
  } else {
    // The depth gradient is summed over channel passes in fp32 and rounded once, here.
    const torch::Tensor depth_grad_fp32 =
        torch::empty_like(depth_grad, depth_grad.options().dtype(torch::kFloat));
    check_launch(pool_backward(index, float16_format(depth.scalar_type()), depth.data_ptr(),
                               feat.data_ptr(), channels, grad_rows.data_ptr(),
                               depth_grad_fp32.data_ptr<float>(), feat_grad.data_ptr(), stream),
                 "backward");
    depth_grad.copy_(depth_grad_fp32);
  }
}

}  // namespace rsd::ops::cuda
