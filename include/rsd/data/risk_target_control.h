// Uninformative risk targets for a controlled study (docs/results.md, data.risk_target_control):
// wrappers around a RiskTargetSource whose maps keep the teacher's statistics but lose their
// meaning, so that a model trained against them has the same extra head and loss as a distilled
// one without the teacher's information.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rsd/data/risk_target_source.h"

namespace rsd::data {

/// How the risk targets are made uninformative: none (the teacher's maps as they are) |
/// shuffle_frames (each frame gets another frame's map) | permute_cells (every map's grid cells
/// are moved by one fixed random permutation).
enum class RiskTargetControl { none, shuffle_frames, permute_cells };

/// One labelled frame of a risk source: clip folder name and frame number.
using RiskFrameKey = std::pair<std::string, int>;

/// Gives frame k the map the wrapped source has for frame sigma(k), where sigma is one random
/// cycle through all of `frames` (Sattolo's algorithm, drawn from `seed`): a permutation of the
/// maps that leaves no frame its own map once there are two frames or more. Frames not in
/// `frames` read through unchanged (normally: no label either way). The cycle may pair
/// neighbouring frames of one clip, whose maps are alike; with many clips that is rare (about
/// 1 / number of labelled frames per pair). Thread-safe (immutable after construction).
class FrameShuffledRiskSource : public RiskTargetSource {
 public:
  /// Throws rsd::DataError when `frames` names a frame twice.
  FrameShuffledRiskSource(std::shared_ptr<const RiskTargetSource> inner,
                          std::vector<RiskFrameKey> frames, uint64_t seed);

  const GridSpec& grid() const override { return inner_->grid(); }
  torch::Tensor risk_map(const std::string& clip, int frame) const override;

  /// The frame whose map `key` receives (itself when `key` is not one of the shuffled frames).
  RiskFrameKey source_of(const RiskFrameKey& key) const;

 private:
  std::shared_ptr<const RiskTargetSource> inner_;
  std::map<RiskFrameKey, RiskFrameKey> source_;
};

/// Moves the cells of every map by one fixed permutation of the grid's ny * nx cells drawn from
/// `seed`: each map keeps its values (the same histogram) at places unrelated to the scene.
/// Thread-safe.
class CellPermutedRiskSource : public RiskTargetSource {
 public:
  CellPermutedRiskSource(std::shared_ptr<const RiskTargetSource> inner, uint64_t seed);

  const GridSpec& grid() const override { return inner_->grid(); }
  torch::Tensor risk_map(const std::string& clip, int frame) const override;

 private:
  std::shared_ptr<const RiskTargetSource> inner_;
  torch::Tensor cell_source_;  // int64 (ny * nx): output cell i takes input cell cell_source_[i]
};

}  // namespace rsd::data
