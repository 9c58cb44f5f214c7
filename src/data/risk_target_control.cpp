#include "rsd/data/risk_target_control.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "rsd/util/error.h"

namespace rsd::data {
namespace {

// std::mt19937_64 is specified bit for bit; std::uniform_int_distribution is not, so the bounded
// draw is ours and the permutations are the same on every standard library.
uint64_t draw_below(std::mt19937_64& rng, uint64_t bound) { return rng() % bound; }

}  // namespace

FrameShuffledRiskSource::FrameShuffledRiskSource(std::shared_ptr<const RiskTargetSource> inner,
                                                 std::vector<RiskFrameKey> frames, uint64_t seed)
    : inner_(std::move(inner)) {
  if (!inner_) throw DataError("FrameShuffledRiskSource needs a risk source to shuffle");
  // Sorted first so that the cycle depends on the set of frames and the seed, not on their order.
  std::sort(frames.begin(), frames.end());
  const auto duplicate = std::adjacent_find(frames.begin(), frames.end());
  if (duplicate != frames.end()) {
    throw DataError("data.risk_target_control: frame " + std::to_string(duplicate->second) +
                    " of clip " + duplicate->first + " is listed twice");
  }
  // Sattolo: a uniformly drawn single cycle, so no frame keeps its own map.
  std::vector<size_t> order(frames.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(seed);
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[draw_below(rng, i - 1)]);
  }
  for (size_t i = 0; i < frames.size(); ++i) source_.emplace(frames[i], frames[order[i]]);
}

RiskFrameKey FrameShuffledRiskSource::source_of(const RiskFrameKey& key) const {
  const auto it = source_.find(key);
  return it == source_.end() ? key : it->second;
}

torch::Tensor FrameShuffledRiskSource::risk_map(const std::string& clip, int frame) const {
  const RiskFrameKey source = source_of({clip, frame});
  return inner_->risk_map(source.first, source.second);
}

CellPermutedRiskSource::CellPermutedRiskSource(std::shared_ptr<const RiskTargetSource> inner,
                                               uint64_t seed)
    : inner_(std::move(inner)) {
  if (!inner_) throw DataError("CellPermutedRiskSource needs a risk source to permute");
  const int64_t cells = inner_->grid().ny() * inner_->grid().nx();
  std::vector<int64_t> order(static_cast<size_t>(cells));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[draw_below(rng, i)]);
  cell_source_ = torch::tensor(order, torch::kLong);
}

torch::Tensor CellPermutedRiskSource::risk_map(const std::string& clip, int frame) const {
  const torch::Tensor map = inner_->risk_map(clip, frame);
  if (!map.defined()) return map;
  return map.reshape({-1})
      .index_select(0, cell_source_.to(map.device()))
      .reshape(map.sizes());
}

}  // namespace rsd::data
