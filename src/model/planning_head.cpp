#include "rsd/model/planning_head.h"

#include <torch/nn.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>

#include "rsd/model/blocks.h"
#include "rsd/model/positional_encoding.h"
#include "rsd/util/error.h"

namespace rsd::model {

PlanningHeadImpl::PlanningHeadImpl(PlanningHeadOptions options) : options_(std::move(options)) {
  const int64_t hidden = options_.hidden();
  RSD_CHECK(options_.bev_channels() > 0 && options_.horizon() > 0 &&
                options_.ego_status_dim() > 0 && options_.num_commands() > 0 &&
                options_.layers() > 0 && options_.key_stride() > 0,
            "planning head sizes must be positive");
  RSD_CHECK(options_.heads() > 0 && hidden % options_.heads() == 0 && hidden % 4 == 0,
            "planning head hidden ", hidden, " must be a multiple of 4 and of heads ",
            options_.heads());
  query_ = register_parameter("query", torch::randn({1, hidden}) * 0.02);
  ego_mlp_ = register_module(
      "ego_mlp", torch::nn::Sequential(torch::nn::Linear(options_.ego_status_dim(), hidden),
                                       torch::nn::ReLU(), torch::nn::Linear(hidden, hidden)));
  command_embedding_ = register_module(
      "command_embedding", torch::nn::Embedding(options_.num_commands(), hidden));
  key_projection_ = register_module(
      "key_projection", torch::nn::Conv2d(torch::nn::Conv2dOptions(options_.bev_channels(),
                                                                   hidden, 1)));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options_.layers(); ++i) {
    layers_->push_back(AttentionBlock(hidden, options_.heads()));
  }
  waypoint_mlp_ = register_module(
      "waypoint_mlp",
      torch::nn::Sequential(torch::nn::Linear(hidden, hidden), torch::nn::ReLU(),
                            torch::nn::Linear(hidden, options_.horizon() * 2)));
}

torch::Tensor PlanningHeadImpl::forward(const torch::Tensor& bev, const torch::Tensor& ego_status,
                                        const torch::Tensor& command) {
  RSD_CHECK(bev.dim() == 4 && bev.size(1) == options_.bev_channels(),
            "planning head BEV must be (B, ", options_.bev_channels(), ", Y, X), got ",
            bev.sizes());
  const int64_t batch = bev.size(0);
  RSD_CHECK(ego_status.dim() == 2 && ego_status.size(0) == batch &&
                ego_status.size(1) == options_.ego_status_dim(),
            "ego status must be (", batch, ", ", options_.ego_status_dim(), "), got ",
            ego_status.sizes());
  RSD_CHECK(command.dim() == 1 && command.size(0) == batch, "command must be (", batch,
            "), got ", command.sizes());
  if (batch > 0 && !command.is_meta()) {  // meta tensors (shape checks) have no values
    const auto low = command.min().item<int64_t>(), high = command.max().item<int64_t>();
    RSD_CHECK(low >= 0 && high < options_.num_commands(), "commands must lie in [0, ",
              options_.num_commands(), "), got [", low, ", ", high, "]");
  }

  namespace F = torch::nn::functional;
  torch::Tensor keys = key_projection_(bev);
  if (options_.key_stride() > 1) {
    keys = F::avg_pool2d(keys, F::AvgPool2dFuncOptions(options_.key_stride())
                                   .stride(options_.key_stride())
                                   .ceil_mode(true)
                                   .count_include_pad(false));
  }
  const int64_t rows = keys.size(2), cols = keys.size(3), hidden = options_.hidden();
  const torch::Tensor position =
      bev_positional_encoding(options_.grid(), rows, cols, hidden, keys.options());
  // (L, B, hidden): MultiheadAttention in 1.13 is sequence-first.
  const torch::Tensor values = keys.flatten(2).permute({2, 0, 1});
  const torch::Tensor keys_with_position = (keys + position.unsqueeze(0)).flatten(2).permute({2, 0, 1});

  torch::Tensor query = query_.expand({batch, hidden}) + ego_mlp_->forward(ego_status.to(keys.dtype())) +
                        command_embedding_(command.to(torch::kLong));
  query = query.unsqueeze(0);  // (1, B, hidden)
  for (const auto& layer : *layers_) {
    query = layer->as<AttentionBlock>()->forward(query, query, keys_with_position, values);
  }
  const torch::Tensor steps = waypoint_mlp_->forward(query.squeeze(0)).view({batch, options_.horizon(), 2});
  return steps.cumsum(1);
}

}  // namespace rsd::model
