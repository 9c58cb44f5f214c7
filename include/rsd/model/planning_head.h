// PlanningHead: one ego query (learned embedding + ego status + driving command) attends to the BEV
// features and regresses the future ego waypoints.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

#include "rsd/geometry/grid_spec.h"

namespace rsd::model {

struct PlanningHeadOptions {
  PlanningHeadOptions(int64_t bev_channels, GridSpec grid)
      : bev_channels_(bev_channels), grid_(grid) {}
  TORCH_ARG(int64_t, bev_channels);
  /// The grid the BEV features cover: their cells get positional encodings of their centres.
  TORCH_ARG(GridSpec, grid);
  /// T future waypoints.
  TORCH_ARG(int64_t, horizon) = 6;
  /// Length of the ego status vector (the data layer's Batch::ego_status).
  TORCH_ARG(int64_t, ego_status_dim) = 10;
  /// Driving commands (data::Command): 6.
  TORCH_ARG(int64_t, num_commands) = 6;
  /// Query width; a multiple of heads and of 4.
  TORCH_ARG(int64_t, hidden) = 256;
  TORCH_ARG(int64_t, heads) = 8;
  /// Cross-attention + feed-forward layers.
  TORCH_ARG(int64_t, layers) = 1;
  /// The BEV is average-pooled by this factor before the attention (keys: (Y/s) * (X/s) cells).
  TORCH_ARG(int64_t, key_stride) = 2;
};

class PlanningHeadImpl : public torch::nn::Module {
 public:
  explicit PlanningHeadImpl(PlanningHeadOptions options);

  /// bev (B, bev_channels, Y, X) over options().grid() (any Y, X: cell centres are those of a
  /// Y x X subdivision of the grid extent); ego_status (B, ego_status_dim) float; command (B)
  /// int64 in [0, num_commands) -> waypoints (B, T, 2): x, y in metres in the current ego frame,
  /// waypoint t at (t + 1) steps ahead. The MLP predicts per-step offsets; the waypoints are their
  /// cumulative sums.
  torch::Tensor forward(const torch::Tensor& bev, const torch::Tensor& ego_status,
                        const torch::Tensor& command);

  const PlanningHeadOptions& options() const { return options_; }

 private:
  PlanningHeadOptions options_;
  torch::Tensor query_;  // (1, hidden) learned ego query
  torch::nn::Sequential ego_mlp_{nullptr};
  torch::nn::Embedding command_embedding_{nullptr};
  torch::nn::Conv2d key_projection_{nullptr};
  torch::nn::ModuleList layers_{nullptr};  // AttentionBlocks: the query attends to the BEV
  torch::nn::Sequential waypoint_mlp_{nullptr};
};
TORCH_MODULE(PlanningHead);

}  // namespace rsd::model
