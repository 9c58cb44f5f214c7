// multi_scale_deformable_attention: one grid_sample per level over all heads at once (heads folded
// into grid_sample's batch), then the weighted sum over levels and points.
#include "rsd/ops/deformable_attention.h"

#include <torch/types.h>

#include <sstream>
#include <string>

#include "rsd/util/error.h"

namespace rsd::ops {
namespace {

constexpr const char* kOp = "multi_scale_deformable_attention: ";

// grid_sample's integer codes (at::grid_sampler takes them instead of the functional's enums).
constexpr int64_t kBilinear = 0;
constexpr int64_t kZerosPadding = 0;

std::string describe(const std::vector<LevelShape>& shapes) {
  std::ostringstream out;
  out << '[';
  for (size_t l = 0; l < shapes.size(); ++l) {
    out << (l ? ", " : "") << '{' << shapes[l].height << ", " << shapes[l].width << '}';
  }
  out << ']';
  return out.str();
}

bool is_16_bit_float(torch::ScalarType type) {
  return type == torch::kHalf || type == torch::kBFloat16;
}

// The widest floating type of the inputs, at least float: grid_sample needs one dtype for the map
// and the grid, and locations rounded to 16 bits would be off by up to half a cell on a 256-cell
// map.
torch::ScalarType sampling_dtype(const torch::Tensor& value, const torch::Tensor& locations,
                                 const torch::Tensor& weights) {
  const torch::ScalarType widest = c10::promoteTypes(
      c10::promoteTypes(value.scalar_type(), locations.scalar_type()), weights.scalar_type());
  return is_16_bit_float(widest) ? torch::kFloat : widest;
}

void check_inputs(const torch::Tensor& value, const std::vector<LevelShape>& shapes,
                  const torch::Tensor& locations, const torch::Tensor& weights) {
  RSD_CHECK(value.defined() && locations.defined() && weights.defined(), kOp,
            "value, sampling_locations and attention_weights must all be defined");
  RSD_CHECK(!shapes.empty(), kOp, "shapes must list at least one level");
  int64_t cells = 0;
  for (size_t l = 0; l < shapes.size(); ++l) {
    RSD_CHECK(shapes[l].height > 0 && shapes[l].width > 0, kOp, "level ", l,
              " of shapes must have a positive {H_l, W_l}, got ", describe(shapes));
    cells += shapes[l].cells();
  }
  const int64_t levels = static_cast<int64_t>(shapes.size());
  RSD_CHECK(value.dim() == 4, kOp, "value must be (B, S, H, Dh), got ", value.sizes());
  const int64_t batch = value.size(0), heads = value.size(2);
  RSD_CHECK(value.size(1) == cells, kOp, "value must be (B, S, H, Dh) with S = ", cells,
            " (the sum of H_l * W_l over shapes ", describe(shapes), "), got ", value.sizes());
  RSD_CHECK(locations.dim() == 6 && locations.size(0) == batch && locations.size(2) == heads &&
                locations.size(3) == levels && locations.size(5) == 2,
            kOp, "sampling_locations must be (B, Q, H, L, P, 2) = (", batch, ", Q, ", heads, ", ",
            levels, ", P, 2) for value ", value.sizes(), " and ", levels, " levels, got ",
            locations.sizes());
  RSD_CHECK(weights.sizes() == locations.sizes().slice(0, 5), kOp,
            "attention_weights must be (B, Q, H, L, P) = ", locations.sizes().slice(0, 5),
            " (sampling_locations without its last dimension), got ", weights.sizes());
  for (const torch::Tensor* tensor : {&value, &locations, &weights}) {
    RSD_CHECK(tensor->is_floating_point(), kOp,
              "value, sampling_locations and attention_weights must be floating point, got ",
              value.scalar_type(), ", ", locations.scalar_type(), ", ", weights.scalar_type());
  }
  RSD_CHECK(locations.device() == value.device() && weights.device() == value.device(), kOp,
            "value, sampling_locations and attention_weights must be on one device, got ",
            value.device(), ", ", locations.device(), ", ", weights.device());
}

}  // namespace

FlattenedLevels flatten_levels(const std::vector<torch::Tensor>& levels, int64_t heads) {
  RSD_CHECK(!levels.empty(), "flatten_levels: no feature map given");
  RSD_CHECK(heads > 0, "flatten_levels: heads must be positive, got ", heads);
  const torch::Tensor& first = levels.front();
  RSD_CHECK(first.defined() && first.dim() == 4, "flatten_levels: level 0 must be (B, heads*Dh, ",
            "H_l, W_l), got ", first.defined() ? first.sizes() : torch::IntArrayRef{});
  const int64_t batch = first.size(0), channels = first.size(1);
  RSD_CHECK(channels % heads == 0, "flatten_levels: the ", channels,
            " channels of the maps are not a multiple of the ", heads, " heads");

  FlattenedLevels flattened;
  std::vector<torch::Tensor> rows;  // (B, C, H_l*W_l) each
  for (size_t l = 0; l < levels.size(); ++l) {
    const torch::Tensor& level = levels[l];
    RSD_CHECK(level.defined() && level.dim() == 4 && level.size(0) == batch &&
                  level.size(1) == channels,
              "flatten_levels: level ", l, " must be (", batch, ", ", channels,
              ", H_l, W_l) like level 0, got ", level.defined() ? level.sizes() : torch::IntArrayRef{});
    RSD_CHECK(level.scalar_type() == first.scalar_type() && level.device() == first.device(),
              "flatten_levels: level ", l, " is ", level.scalar_type(), " on ", level.device(),
              ", level 0 ", first.scalar_type(), " on ", first.device());
    flattened.shapes.push_back({level.size(2), level.size(3)});
    rows.push_back(level.flatten(2));
  }
  flattened.value =
      torch::cat(rows, 2).transpose(1, 2).reshape({batch, -1, heads, channels / heads});
  return flattened;
}

torch::Tensor multi_scale_deformable_attention(const torch::Tensor& value,
                                               const std::vector<LevelShape>& shapes,
                                               const torch::Tensor& sampling_locations,
                                               const torch::Tensor& attention_weights) {
  check_inputs(value, shapes, sampling_locations, attention_weights);
  const int64_t batch = value.size(0), heads = value.size(2), head_dim = value.size(3);
  const int64_t queries = sampling_locations.size(1), levels = sampling_locations.size(3),
                points = sampling_locations.size(4);

  const torch::ScalarType dtype = sampling_dtype(value, sampling_locations, attention_weights);
  // grid_sample's grid spans [-1, 1] over the map's outer edges (align_corners = false).
  const torch::Tensor grids = sampling_locations.to(dtype) * 2 - 1;

  std::vector<int64_t> cells;
  for (const LevelShape& shape : shapes) cells.push_back(shape.cells());
  const std::vector<torch::Tensor> level_values = value.to(dtype).split_with_sizes(cells, 1);

  std::vector<torch::Tensor> samples;  // (B*H, Dh, Q, P) per level
  samples.reserve(shapes.size());
  for (int64_t l = 0; l < levels; ++l) {
    // Heads become grid_sample's batch: (B, S_l, H, Dh) -> (B*H, Dh, H_l, W_l).
    const torch::Tensor map = level_values[l].permute({0, 2, 3, 1}).reshape(
        {batch * heads, head_dim, shapes[l].height, shapes[l].width});
    // (B, Q, H, P, 2) -> (B*H, Q, P, 2): the queries are the rows of grid_sample's output.
    const torch::Tensor grid =
        grids.select(3, l).transpose(1, 2).reshape({batch * heads, queries, points, 2});
    samples.push_back(at::grid_sampler(map, grid, kBilinear, kZerosPadding,
                                       /*align_corners=*/false));
  }
  // (B*H, Dh, Q, L*P) samples against (B*H, 1, Q, L*P) weights.
  const torch::Tensor sampled = torch::stack(samples, 3).flatten(3);
  const torch::Tensor weights = attention_weights.to(dtype).transpose(1, 2).reshape(
      {batch * heads, 1, queries, levels * points});
  const torch::Tensor summed = (sampled * weights).sum(-1);  // (B*H, Dh, Q)
  return summed.view({batch, heads * head_dim, queries})
      .transpose(1, 2)
      .to(value.scalar_type())
      .contiguous();
}

}  // namespace rsd::ops
