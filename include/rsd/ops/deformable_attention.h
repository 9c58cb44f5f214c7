// Multi-scale deformable attention (Deformable DETR; BEVFormer's spatial and temporal attention):
// every query reads a few bilinear samples per head and per feature level, at locations it
// predicts, and sums them with weights it predicts. Written with ATen ops (grid_sample), so it
// runs on any device and dtype libtorch does and autograd differentiates it.
//
//   rsd::ops::FlattenedLevels levels = rsd::ops::flatten_levels({bev}, heads);  // or images
//   torch::Tensor out = rsd::ops::multi_scale_deformable_attention(
//       levels.value, levels.shapes, sampling_locations, attention_weights);
//
// Shapes (B batch, Q queries, H heads, Dh channels per head, L levels, P points per level and
// head, S = sum over levels of H_l * W_l):
//   value               (B, S, H, Dh)       the levels one after the other, each row-major (all
//                                           of row 0, then row 1, ...)
//   shapes              L x {H_l, W_l}      on the host: no device synchronisation
//   sampling_locations  (B, Q, H, L, P, 2)  (x, y), normalised per level: 0 is the left (top)
//                                           edge of the map, 1 its right (bottom) edge; the
//                                           centre of column j is at (j + 0.5) / W_l (grid_sample
//                                           with align_corners = false)
//   attention_weights   (B, Q, H, L, P)     used as given (the caller applies the softmax)
//   -> output           (B, Q, H * Dh)      head-major: head h's channels are h*Dh .. h*Dh + Dh-1
//
//   output[b, q, h*Dh + d] = sum over l, p of attention_weights[b, q, h, l, p] *
//                            bilinear(level l of value[b, :, h, d], sampling_locations[b, q, h, l, p])
// Bilinear sampling pads with zeros: a corner outside the map contributes nothing, a location
// beyond half a pixel outside the map samples 0.
//
// Cost: the sampled values, B*H*Dh*Q*L*P elements, are held for the backward (a fused kernel
// would not hold them). docs/ops.md, "Deformable attention".
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace rsd::ops {

/// The size of one feature level, in cells.
struct LevelShape {
  int64_t height = 0;
  int64_t width = 0;
  int64_t cells() const { return height * width; }
};

/// Value (B, S, H, Dh) and its level shapes, as multi_scale_deformable_attention takes them.
struct FlattenedLevels {
  torch::Tensor value;
  std::vector<LevelShape> shapes;
};

/// Feature maps (B, heads*Dh, H_l, W_l) of one dtype and device -> value (B, S, heads, Dh) and
/// their shapes; the channels of a map are read head-major (as the output is written). A copy.
/// Throws rsd::Error when the list is empty, a map is not 4-D, the maps disagree in batch,
/// channels, dtype or device, or the channels are not a multiple of heads.
FlattenedLevels flatten_levels(const std::vector<torch::Tensor>& levels, int64_t heads);

/// The op (shapes above); differentiable in value, sampling_locations and attention_weights
/// (autograd through ATen ops: grid_sample). Inputs share one device; the output is contiguous, of
/// value's dtype. The sampling runs in the widest floating type of the three inputs, at least
/// float: half or bfloat16 values are widened (a copy), which is also what CUDA autocast does with
/// grid_sample, and locations are never rounded to 16 bits. Throws rsd::Error naming the tensor
/// and the expected shape when a shape disagrees, or when S differs from the sum of the levels.
torch::Tensor multi_scale_deformable_attention(const torch::Tensor& value,
                                               const std::vector<LevelShape>& shapes,
                                               const torch::Tensor& sampling_locations,
                                               const torch::Tensor& attention_weights);

}  // namespace rsd::ops
