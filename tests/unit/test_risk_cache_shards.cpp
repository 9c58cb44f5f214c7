// Scaling the risk cache job out (issue 19): the shard a process owns (--shard, RANK/WORLD_SIZE,
// SLURM_PROCID/SLURM_NTASKS), shards writing exactly the files of one unsharded run (into one
// folder, or into several merged afterwards), and `verify` / `merge` on what they wrote.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/data/synth/synth.h"
#include "rsd/pipeline/risk_cache_job.h"
#include "rsd/pipeline/shard.h"
#include "rsd/teacher/risk_cache.h"
#include "rsd/teacher/risk_cache_merge.h"
#include "rsd/teacher/risk_cache_verify.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"
#include "support/error_message.h"
#include "support/temp_dir.h"

namespace rsd {
namespace {

namespace fs = std::filesystem;
using pipeline::Shard;
using test::TempDir;

// Sets (or unsets, for nullopt) an environment variable for the scope; restores it after.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// The shard contract written out independently of librsd: 64-bit FNV-1a of the name, modulo N.
int reference_shard_of(const std::string& name, int count) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const unsigned char byte : name) {
    hash ^= byte;
    hash *= 1099511628211ull;
  }
  return static_cast<int>(hash % static_cast<std::uint64_t>(count));
}

TEST(Shard, ParsesIAndNAndNamesTheFlagOnBadValues) {
  const Shard shard = pipeline::parse_shard("2/5");
  EXPECT_EQ(shard.index, 2);
  EXPECT_EQ(shard.count, 5);
  EXPECT_EQ(shard.describe(), "shard 2/5");
  EXPECT_EQ(pipeline::parse_shard("0/1").count, 1);
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"3/3", "shards are numbered 0 to 2"},
           {"1/0", "N = 0 shards"},
           {"a/b", "is not a shard I/N"},
           {"1", "is not a shard I/N"},
           {"-1/3", "is not a shard I/N"},
           {"1/3x", "is not a shard I/N"},
           {"", "is not a shard I/N"}}) {
    const std::string message =
        test::error_message<ConfigError>([&] { pipeline::parse_shard(text, "--shard"); });
    EXPECT_NE(message.find("--shard: '" + text + "'"), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

TEST(Shard, EveryNameBelongsToExactlyOneShardByTheStableHash) {
  constexpr int kShards = 4;
  std::vector<int> owned(kShards, 0);
  for (int k = 0; k < 400; ++k) {
    const std::string name = "ParkingExit_Town12_Route" + std::to_string(k) + "_Weather3";
    int owners = 0;
    for (int i = 0; i < kShards; ++i) {
      if (Shard{i, kShards}.owns(name)) {
        ++owners;
        ++owned[static_cast<std::size_t>(i)];
        EXPECT_EQ(i, reference_shard_of(name, kShards)) << name;
      }
    }
    EXPECT_EQ(owners, 1) << name;
    EXPECT_TRUE(Shard{}.owns(name)) << "one shard owns everything";
  }
  for (const int count : owned) EXPECT_GT(count, 60) << "the hash spreads the names";
}

TEST(Shard, TheFlagThenTorchrunThenSlurmVariables) {
  ScopedEnv rank("RANK", std::nullopt), world("WORLD_SIZE", std::nullopt);
  ScopedEnv procid("SLURM_PROCID", std::nullopt), ntasks("SLURM_NTASKS", std::nullopt);
  EXPECT_EQ(pipeline::shard_from("").count, 1) << "nothing set: one shard";
  {
    ScopedEnv p("SLURM_PROCID", "3"), n("SLURM_NTASKS", "8");
    EXPECT_EQ(pipeline::shard_from("").describe(), "shard 3/8");
    ScopedEnv r("RANK", "1"), w("WORLD_SIZE", "2");
    EXPECT_EQ(pipeline::shard_from("").describe(), "shard 1/2") << "RANK/WORLD_SIZE first";
    EXPECT_EQ(pipeline::shard_from("0/3").describe(), "shard 0/3") << "the flag wins";
  }
  {
    ScopedEnv r("RANK", "1");
    const std::string message = test::error_message<ConfigError>([] { pipeline::shard_from(""); });
    EXPECT_NE(message.find("WORLD_SIZE is not set while RANK is"), std::string::npos) << message;
  }
  {
    ScopedEnv p("SLURM_PROCID", "4"), n("SLURM_NTASKS", "4");
    const std::string message = test::error_message<ConfigError>([] { pipeline::shard_from(""); });
    EXPECT_NE(message.find("SLURM_PROCID/SLURM_NTASKS: '4/4'"), std::string::npos) << message;
  }
  {
    ScopedEnv r("RANK", "x"), w("WORLD_SIZE", "2");
    const std::string message = test::error_message<ConfigError>([] { pipeline::shard_from(""); });
    EXPECT_NE(message.find("RANK/WORLD_SIZE"), std::string::npos) << message;
  }
}

// ---- shards, verify and merge on synthetic clips with the rule teacher ---------------------------

class RiskCacheShards : public ::testing::Test {
 protected:
  void SetUp() override {
    data::synth::SynthOptions synth;
    synth.out_dir = dir_.file("clips");
    synth.clips = 6;
    synth.frames = 3;
    synth.width = 96;
    synth.height = 54;
    synth.threads = 1;
    synth.top_down = false;
    for (const auto& clip : data::synth::write_synthetic_dataset(synth).clips) clips_.push_back(clip.name);
    std::sort(clips_.begin(), clips_.end());  // the order of the clip index and of the reports
  }

  Config config(const std::string& output) const {
    Config config = Config::defaults();
    config.set("data.root", "\"" + dir_.file("clips") + "\"");
    config.set("data.grid.x", "[-16.0, 16.0, 1.0]");
    config.set("data.grid.y", "[-16.0, 16.0, 1.0]");
    config.set("teacher.output", "\"" + output + "\"");
    return config;
  }

  teacher::RiskCacheRunReport build(const std::string& output, Shard shard = {}) const {
    pipeline::RiskCacheJobOptions options;
    options.progress = false;
    options.shard = shard;
    return pipeline::run_risk_cache(config(output), options);
  }

  // File name -> bytes of every file in `folder`.
  static std::map<std::string, std::string> files_in(const std::string& folder) {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::directory_iterator(folder)) {
      files[entry.path().filename().string()] = read_file(entry.path().string());
    }
    return files;
  }

  TempDir dir_;
  std::vector<std::string> clips_;
  // Headers record their creation time: pinned, so that two runs can write the same bytes.
  ScopedEnv epoch_{"SOURCE_DATE_EPOCH", "1767225600"};
};

TEST_F(RiskCacheShards, ThreeShardsWriteTheBytesOfOneRunAndMergeToThem) {
  const auto whole = build(dir_.file("whole"));
  ASSERT_EQ(whole.clips.size(), clips_.size());
  const auto expected = files_in(dir_.file("whole"));
  ASSERT_EQ(expected.size(), clips_.size());
  EXPECT_EQ(teacher::RiskCacheFile::read_header(dir_.file("whole/" + clips_[0] + teacher::kRiskCacheExtension))
                .created,
            "2026-01-01T00:00:00Z")
      << "SOURCE_DATE_EPOCH is the creation time";

  std::size_t clips_built = 0;
  for (int i = 0; i < 3; ++i) {
    const auto shared = build(dir_.file("shared"), {i, 3});  // one folder for all shards
    clips_built += shared.clips.size();
    build(dir_.file("shard" + std::to_string(i)), {i, 3});  // a folder per shard
  }
  EXPECT_EQ(clips_built, clips_.size()) << "each clip was built by exactly one shard";
  EXPECT_EQ(files_in(dir_.file("shared")), expected) << "byte-identical to the unsharded run";

  // A restarted shard finds its clips complete and judges nothing.
  const auto again = build(dir_.file("shared"), {1, 3});
  for (const auto& clip : again.clips) EXPECT_EQ(clip.frames_judged, 0) << clip.clip;
  EXPECT_EQ(files_in(dir_.file("shared")), expected);

  const std::vector<std::string> shards = {dir_.file("shard0"), dir_.file("shard1"), dir_.file("shard2")};
  const auto merged = pipeline::merge_risk_caches(config(dir_.file("whole")), shards, dir_.file("merged"));
  EXPECT_EQ(merged.copied, static_cast<int>(clips_.size()));
  EXPECT_EQ(files_in(dir_.file("merged")), expected) << "merge of the shards = the unsharded run";
  const auto repeated = pipeline::merge_risk_caches(config(dir_.file("merged")), shards);
  EXPECT_EQ(repeated.copied, 0);
  EXPECT_EQ(repeated.already_present, static_cast<int>(clips_.size()));
}

TEST_F(RiskCacheShards, VerifyReportsADeletedFrameAStaleClipAndAMissingOne) {
  const std::string cache = dir_.file("cache");
  build(cache);
  const auto complete = pipeline::verify_risk_cache(config(cache));
  EXPECT_EQ(complete.count(teacher::ClipCacheState::complete), static_cast<int>(clips_.size()));
  EXPECT_EQ(complete.frames_expected, static_cast<int>(clips_.size()) * 3);
  EXPECT_TRUE(complete.complete(0.0));

  // Frame 1 of the first clip deleted from its cache (the file stays a valid, finished cache).
  const std::string first = cache + "/" + clips_[0] + teacher::kRiskCacheExtension;
  const teacher::RiskCacheFile original = teacher::RiskCacheFile::read(first);
  teacher::RiskCacheFile without(original.header());
  for (const auto& frame : original.frames()) {
    if (frame.frame != 1) without.add(frame);
  }
  without.write(first);
  // The second clip's cache replaced by one of other rule-teacher settings: stale.
  Config other = config(dir_.file("other"));
  other.set("teacher.rule.ttc_critical_s", "7.5");
  other.set("teacher.clips", "[" + clips_[1] + "]");
  pipeline::RiskCacheJobOptions quiet;
  quiet.progress = false;
  pipeline::run_risk_cache(other, quiet);
  fs::copy_file(dir_.file("other") + "/" + clips_[1] + teacher::kRiskCacheExtension,
                cache + "/" + clips_[1] + teacher::kRiskCacheExtension,
                fs::copy_options::overwrite_existing);
  // The third clip's cache gone.
  fs::remove(cache + "/" + clips_[2] + teacher::kRiskCacheExtension);

  const auto report = pipeline::verify_risk_cache(config(cache));
  ASSERT_EQ(report.clips.size(), clips_.size());
  EXPECT_EQ(report.clips[0].state, teacher::ClipCacheState::partial);
  EXPECT_EQ(report.clips[0].frames_cached, 2);
  EXPECT_NE(report.clips[0].why.find("frames 1 not in"), std::string::npos) << report.clips[0].why;
  EXPECT_EQ(report.clips[1].state, teacher::ClipCacheState::stale);
  EXPECT_NE(report.clips[1].why.find("ttc_critical_s"), std::string::npos) << report.clips[1].why;
  EXPECT_EQ(report.clips[2].state, teacher::ClipCacheState::missing);
  EXPECT_EQ(report.count(teacher::ClipCacheState::complete), static_cast<int>(clips_.size()) - 3);
  EXPECT_FALSE(report.complete(1.0));
  std::string text;
  for (const auto& line : report.lines()) text += line + "\n";
  EXPECT_NE(text.find("3 complete, 1 partial, 1 missing, 1 stale"), std::string::npos) << text;
  EXPECT_NE(text.find("stale " + clips_[1]), std::string::npos) << text;

  // A shard verifies only its own clips.
  std::size_t owned = 0;
  for (const auto& clip : clips_) owned += Shard{0, 2}.owns(clip) ? 1 : 0;
  pipeline::RiskCacheJobOptions shard;
  shard.shard = {0, 2};
  EXPECT_EQ(pipeline::verify_risk_cache(config(cache), shard).clips.size(), owned);

  // The merge refuses the stale file, and writes nothing.
  const std::string message = test::error_message<DataError>(
      [&] { pipeline::merge_risk_caches(config(cache), {cache}, dir_.file("merged")); });
  EXPECT_NE(message.find("(stale)"), std::string::npos) << message;
  EXPECT_NE(message.find(clips_[1]), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir_.file("merged")));
}

TEST_F(RiskCacheShards, MergeRefusesConflictingAndUnfinishedShardsBeforeWritingAnything) {
  build(dir_.file("a"));
  build(dir_.file("b"));
  const std::string clip = clips_[0] + teacher::kRiskCacheExtension;
  // A different cache of the same clip (one frame less) in the second folder.
  const teacher::RiskCacheFile original = teacher::RiskCacheFile::read(dir_.file("b/" + clip));
  teacher::RiskCacheFile changed(original.header());
  changed.add(original.frames().front());
  changed.write(dir_.file("b/" + clip));
  std::string message = test::error_message<DataError>([&] {
    pipeline::merge_risk_caches(config(dir_.file("a")), {dir_.file("a"), dir_.file("b")},
                                dir_.file("merged"));
  });
  EXPECT_NE(message.find("different caches of the same clip"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir_.file("merged")));

  fs::rename(dir_.file("b/" + clip), dir_.file("b/" + clips_[0] + teacher::kRiskCachePartialExtension));
  message = test::error_message<DataError>([&] {
    pipeline::merge_risk_caches(config(dir_.file("a")), {dir_.file("b")}, dir_.file("merged"));
  });
  EXPECT_NE(message.find("has not finished that clip"), std::string::npos) << message;

  message = test::error_message<DataError>([&] {
    pipeline::merge_risk_caches(config(dir_.file("a")), {dir_.file("absent")}, dir_.file("merged"));
  });
  EXPECT_NE(message.find("absent does not exist"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir_.file("merged")));
}

TEST(RiskCacheVerify, FailureReasonsAreGroupedByTheirLeadingWords) {
  EXPECT_EQ(teacher::failure_reason_group("HTTP 503: {\"error\": \"overloaded\"}"), "HTTP 503");
  EXPECT_EQ(teacher::failure_reason_group("timeout: Operation timed out after 60000 ms"), "timeout");
  EXPECT_EQ(teacher::failure_reason_group("invalid answer: no JSON answer"), "invalid answer");
  EXPECT_EQ(teacher::failure_reason_group(""), "(no reason given)");
}

}  // namespace
}  // namespace rsd
