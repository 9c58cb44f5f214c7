// data.risk_target_control: the control arm's risk targets keep the teacher maps (as a multiset,
// or each map's values) and lose their meaning (another frame's map, or cells moved).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/data/risk_target_control.h"
#include "rsd/pipeline/data_sources.h"
#include "rsd/pipeline/risk_cache_job.h"
#include "rsd/teacher/risk_cache_reader.h"
#include "rsd/util/error.h"
#include "support/synthetic_dataset.h"
#include "support/temp_dir.h"

namespace rsd::data {
namespace {

GridSpec grid_6x5() { return GridSpec({0.0, 5.0, 1.0}, {0.0, 6.0, 1.0}, {-5.0, 3.0, 8.0}); }

// Every (clip, frame) of `frames` has its own random map; others have none.
class MemorySource : public RiskTargetSource {
 public:
  explicit MemorySource(const std::vector<RiskFrameKey>& frames) : grid_(grid_6x5()) {
    torch::manual_seed(7);
    for (const auto& key : frames) maps_[key] = torch::rand({grid_.ny(), grid_.nx()});
  }
  const GridSpec& grid() const override { return grid_; }
  torch::Tensor risk_map(const std::string& clip, int frame) const override {
    const auto it = maps_.find({clip, frame});
    return it == maps_.end() ? torch::Tensor() : it->second;
  }

 private:
  GridSpec grid_;
  std::map<RiskFrameKey, torch::Tensor> maps_;
};

std::vector<RiskFrameKey> frames_of(int clips, int frames_per_clip) {
  std::vector<RiskFrameKey> frames;
  for (int c = 0; c < clips; ++c) {
    for (int f = 0; f < frames_per_clip; ++f) frames.emplace_back("clip" + std::to_string(c), f);
  }
  return frames;
}

// A digest of a map's values: equal maps, equal digests (exact float bytes).
std::string digest(const torch::Tensor& map) {
  const torch::Tensor flat = map.contiguous().to(torch::kFloat);
  return std::string(static_cast<const char*>(flat.data_ptr()), flat.numel() * sizeof(float));
}

std::multiset<std::string> digests(const RiskTargetSource& source,
                                   const std::vector<RiskFrameKey>& frames) {
  std::multiset<std::string> all;
  for (const auto& [clip, frame] : frames) all.insert(digest(source.risk_map(clip, frame)));
  return all;
}

TEST(RiskTargetControl, ShuffledMapsAreAPermutationThatMovesEveryFrame) {
  const auto frames = frames_of(3, 7);
  auto inner = std::make_shared<MemorySource>(frames);
  const FrameShuffledRiskSource shuffled(inner, frames, 42);
  EXPECT_EQ(digests(shuffled, frames), digests(*inner, frames));
  for (const auto& [clip, frame] : frames) {
    EXPECT_NE(digest(shuffled.risk_map(clip, frame)), digest(inner->risk_map(clip, frame)))
        << clip << " frame " << frame << " kept its own map";
    EXPECT_NE(shuffled.source_of({clip, frame}), RiskFrameKey(clip, frame));
  }
}

TEST(RiskTargetControl, ShuffleIsDeterministicPerSeedAndIndependentOfListOrder) {
  const auto frames = frames_of(4, 5);
  auto inner = std::make_shared<MemorySource>(frames);
  auto reversed = frames;
  std::reverse(reversed.begin(), reversed.end());
  const FrameShuffledRiskSource a(inner, frames, 3), b(inner, reversed, 3), c(inner, frames, 4);
  bool seeds_differ = false;
  for (const auto& key : frames) {
    EXPECT_EQ(a.source_of(key), b.source_of(key));
    seeds_differ = seeds_differ || a.source_of(key) != c.source_of(key);
  }
  EXPECT_TRUE(seeds_differ) << "seeds 3 and 4 drew the same cycle";
}

TEST(RiskTargetControl, ShuffleEdgeCases) {
  const std::vector<RiskFrameKey> one = {{"clip0", 0}};
  auto inner = std::make_shared<MemorySource>(one);
  // One frame: nothing to swap with, it keeps its map.
  EXPECT_EQ(FrameShuffledRiskSource(inner, one, 1).source_of(one[0]), one[0]);
  // A frame outside the list reads through (here: no label).
  EXPECT_FALSE(FrameShuffledRiskSource(inner, one, 1).risk_map("other", 3).defined());
  EXPECT_THROW(FrameShuffledRiskSource(inner, {one[0], one[0]}, 1), DataError);
  const std::vector<RiskFrameKey> two = {{"clip0", 0}, {"clip0", 1}};
  EXPECT_EQ(FrameShuffledRiskSource(inner, two, 9).source_of(two[0]), two[1]);
}

TEST(RiskTargetControl, PermutedCellsKeepEachMapsValuesButMoveThem) {
  const auto frames = frames_of(2, 3);
  auto inner = std::make_shared<MemorySource>(frames);
  const CellPermutedRiskSource permuted(inner, 11);
  std::vector<torch::Tensor> cell_sources;
  for (const auto& [clip, frame] : frames) {
    const torch::Tensor original = inner->risk_map(clip, frame);
    const torch::Tensor moved = permuted.risk_map(clip, frame);
    ASSERT_EQ(moved.sizes(), original.sizes());
    // Same values (sorted: the histogram), different places.
    EXPECT_TRUE(torch::equal(std::get<0>(moved.flatten().sort()),
                             std::get<0>(original.flatten().sort())));
    EXPECT_FALSE(torch::equal(moved, original));
    // The same permutation for every map: each output cell's value comes from the same input cell.
    const torch::Tensor where = (moved.flatten().unsqueeze(1) == original.flatten().unsqueeze(0))
                                    .to(torch::kLong).argmax(1);
    cell_sources.push_back(where);
  }
  for (const auto& where : cell_sources) EXPECT_TRUE(torch::equal(where, cell_sources.front()));
  EXPECT_TRUE(torch::equal(CellPermutedRiskSource(inner, 11).risk_map("clip1", 2),
                           permuted.risk_map("clip1", 2)));
  EXPECT_FALSE(torch::equal(CellPermutedRiskSource(inner, 12).risk_map("clip1", 2),
                            permuted.risk_map("clip1", 2)));
  EXPECT_FALSE(permuted.risk_map("none", 0).defined());
}

// Through the composition layer, on a rule-teacher cache of a synthetic clip: the config key
// picks the wrapper, the shuffle runs over the cache's labelled frames, a bad value is refused.
TEST(RiskTargetControl, RiskSourceFromWrapsTheCacheAsConfigured) {
  test::TempDir dir;
  const std::string clips = test::write_small_synthetic_dataset(dir.file("clips"));
  Config config = Config::defaults();
  config.set("data.root", "\"" + clips + "\"");
  config.set("data.grid.x", "[-16.0, 16.0, 1.0]");
  config.set("data.grid.y", "[-16.0, 16.0, 1.0]");
  config.set("teacher.output", "\"" + dir.file("risk") + "\"");
  config.set("data.risk_cache", "\"" + dir.file("risk") + "\"");
  pipeline::RiskCacheJobOptions job;
  job.progress = false;
  pipeline::run_risk_cache(config, job);

  const auto plain = pipeline::risk_source_from(config);
  const auto* reader = dynamic_cast<const teacher::RiskCacheReader*>(plain.get());
  ASSERT_NE(reader, nullptr) << "none: the cache reader itself";
  std::vector<RiskFrameKey> frames;
  for (const std::string& clip : reader->clips()) {
    for (int frame : reader->labelled_frames(clip)) frames.emplace_back(clip, frame);
  }
  ASSERT_GE(frames.size(), 2u);

  config.set("data.risk_target_control", "shuffle_frames");
  const auto shuffled = pipeline::risk_source_from(config);
  ASSERT_NE(dynamic_cast<const FrameShuffledRiskSource*>(shuffled.get()), nullptr);
  EXPECT_EQ(digests(*shuffled, frames), digests(*plain, frames));
  for (const auto& key : frames) {
    EXPECT_NE(dynamic_cast<const FrameShuffledRiskSource&>(*shuffled).source_of(key), key);
  }

  config.set("data.risk_target_control", "permute_cells");
  const auto permuted = pipeline::risk_source_from(config);
  ASSERT_NE(dynamic_cast<const CellPermutedRiskSource*>(permuted.get()), nullptr);
  const torch::Tensor original = plain->risk_map(frames[0].first, frames[0].second);
  EXPECT_TRUE(torch::equal(
      std::get<0>(permuted->risk_map(frames[0].first, frames[0].second).flatten().sort()),
      std::get<0>(original.flatten().sort())));

  config.set("data.risk_target_control", "reversed");
  EXPECT_THROW(pipeline::risk_source_from(config), ConfigError);
}

}  // namespace
}  // namespace rsd::data
