// Common pieces: errors, atomic files, seeding, progress, run directories, metrics, logging.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rsd/util/error.h"
#include "rsd/util/fs.h"
#include "rsd/util/log_setup.h"
#include "rsd/util/metrics_writer.h"
#include "rsd/util/progress.h"
#include "rsd/util/run_directory.h"
#include "rsd/util/seed.h"
#include "support/error_message.h"
#include "support/temp_dir.h"

namespace {

using rsd::test::read_text;
using rsd::test::TempDir;
namespace fs = std::filesystem;

using rsd::test::error_message;

TEST(Check, FailureNamesFileLineConditionAndParts) {
  const int cameras = 5;
  const std::string message = error_message([&] { RSD_CHECK(cameras == 6, "clip ", "X", " has ", cameras); });
  EXPECT_NE(message.find("test_util.cpp:"), std::string::npos) << message;
  EXPECT_NE(message.find("check failed: cameras == 6: clip X has 5"), std::string::npos) << message;
  EXPECT_EQ(error_message([] { RSD_CHECK(1 + 1 == 3); }).find("1 + 1 == 3"),
            error_message([] { RSD_CHECK(1 + 1 == 3); }).size() - 10);
}

TEST(Check, ComparisonsPrintBothValuesAndPartsAreLazy) {
  const std::string message = error_message([] { RSD_CHECK_EQ(2 + 2, 5, "arithmetic"); });
  EXPECT_NE(message.find("2 + 2 == 5: (4 vs 5) arithmetic"), std::string::npos) << message;
  EXPECT_NE(error_message([] { RSD_CHECK_GE(1, 2); }).find("(1 vs 2)"), std::string::npos);
  int evaluated = 0;
  auto count = [&] { return ++evaluated; };
  RSD_CHECK(true, "never ", count());
  RSD_CHECK_LT(1, 2, count());
  EXPECT_EQ(evaluated, 0);
}

TEST(Check, ErrorsAreRsdErrorsAndSubclassesCanBeCaughtAsSuch) {
  EXPECT_THROW(throw rsd::ConfigError("x"), rsd::Error);
  EXPECT_THROW(throw rsd::DataError("x"), rsd::Error);
  EXPECT_THROW(throw rsd::CheckpointError("x"), std::runtime_error);
}

TEST(Files, AtomicWriteReplacesWholeFilesAndLeavesNoTemporaries) {
  TempDir dir;
  const std::string path = dir.file("a/b/c.txt");
  rsd::write_file_atomic(path, "first");
  EXPECT_EQ(rsd::read_file(path), "first");
  const std::string big(3 << 20, 'x');
  rsd::write_file_atomic(path, big);
  EXPECT_EQ(rsd::read_file(path), big);
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.file("a/b"))) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(Files, FailuresNameThePath) {
  TempDir dir;
  const std::string blocker = dir.write("blocker", "a file, not a folder");
  EXPECT_NE(error_message([&] { rsd::write_file_atomic(blocker + "/x.txt", "data"); }).find(blocker),
            std::string::npos);
  EXPECT_NE(error_message([&] { rsd::read_file(dir.file("absent.txt")); }).find("absent.txt"),
            std::string::npos);
}

TEST(Seed, DerivedSeedsDependOnEveryPart) {
  EXPECT_EQ(rsd::derive_seed(1, {2, 3}), rsd::derive_seed(1, {2, 3}));
  EXPECT_NE(rsd::derive_seed(1, {2, 3}), rsd::derive_seed(1, {3, 2}));
  EXPECT_NE(rsd::derive_seed(1, {2, 3}), rsd::derive_seed(2, {2, 3}));
  EXPECT_NE(rsd::derive_seed(1, {0}), rsd::derive_seed(1, {}));
  auto a = rsd::make_rng(7, {1});
  auto b = rsd::make_rng(7, {1});
  EXPECT_EQ(a(), b());
}

TEST(Seed, SeedEverythingMakesTorchRepeatable) {
  rsd::seed_everything(123);
  const torch::Tensor first = torch::rand({16});
  rsd::seed_everything(123);
  const torch::Tensor again = torch::rand({16});
  rsd::seed_everything(123, /*rank=*/1);
  const torch::Tensor other_rank = torch::rand({16});
  EXPECT_TRUE(torch::equal(first, again));
  EXPECT_FALSE(torch::equal(first, other_rank));
}

struct FakeClock {
  double now = 0.0;
  std::function<double()> function() {
    return [this] { return now; };
  }
};

TEST(Progress, PlainModePrintsPeriodicLinesWithRateAndEta) {
  FakeClock clock;
  std::ostringstream out;
  rsd::ProgressOptions options;
  options.mode = rsd::ProgressOptions::Mode::plain;
  options.stream = &out;
  options.plain_interval_s = 5.0;
  options.clock = clock.function();
  {
    rsd::ProgressBar bar("train", 100, options);
    for (int i = 1; i <= 50; ++i) {
      clock.now = i * 0.1;  // 10 items per second
      bar.advance();
    }
    bar.set_status("loss 0.5");
    EXPECT_NEAR(bar.rate(), 10.0, 1e-6);
    EXPECT_EQ(bar.count(), 50);
  }
  const std::string text = out.str();
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("train: 50/100 (50%) 10.0 it/s, elapsed 00:05, ETA 00:05"), std::string::npos)
      << text;
  EXPECT_NE(text.find("loss 0.5"), std::string::npos) << text;  // the final line
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);  // one periodic line + the final one
}

TEST(Progress, TerminalModeRedrawsOneLine) {
  FakeClock clock;
  std::ostringstream out;
  rsd::ProgressOptions options;
  options.mode = rsd::ProgressOptions::Mode::terminal;
  options.stream = &out;
  options.bar_width = 10;
  options.clock = clock.function();
  {
    rsd::ProgressBar bar("cache", 4, options);
    for (int i = 0; i < 4; ++i) {
      clock.now += 1.0;
      bar.advance();
    }
  }
  const std::string text = out.str();
  EXPECT_NE(text.find("\rcache [=====>    ] 2/4 (50%)"), std::string::npos) << text;
  EXPECT_NE(text.find("cache [==========] 4/4 (100%)"), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
}

TEST(Progress, UnknownTotalAndDisabledBars) {
  FakeClock clock;
  std::ostringstream out;
  rsd::ProgressOptions options;
  options.mode = rsd::ProgressOptions::Mode::plain;
  options.stream = &out;
  options.clock = clock.function();
  {
    rsd::ProgressBar bar("scan", 0, options);
    clock.now = 2.0;
    bar.advance(8);
  }
  EXPECT_NE(out.str().find("scan: 8 4.0 it/s"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("ETA"), std::string::npos);

  std::ostringstream silent;
  options.stream = &silent;
  options.enabled = false;
  rsd::ProgressBar("quiet", 10, options).advance(10);
  EXPECT_TRUE(silent.str().empty());
}

TEST(Progress, DurationFormat) {
  EXPECT_EQ(rsd::format_duration(0), "00:00");
  EXPECT_EQ(rsd::format_duration(65.4), "01:05");
  EXPECT_EQ(rsd::format_duration(3725), "1:02:05");
  EXPECT_EQ(rsd::format_duration(std::numeric_limits<double>::infinity()), "--:--");
}

TEST(RunDirectory, LayoutReuseAndRefusal) {
  TempDir dir;
  const auto run = rsd::RunDirectory::open(dir.path(), "exp", false);
  EXPECT_TRUE(fs::is_directory(run.checkpoints_dir()));
  EXPECT_EQ(run.config_path(), dir.file("exp/config.yaml"));
  EXPECT_EQ(run.metrics_path(), dir.file("exp/metrics.jsonl"));
  EXPECT_EQ(run.log_path(), dir.file("exp/log.txt"));
  EXPECT_NE(error_message([&] { rsd::RunDirectory::open(dir.path(), "exp", false); }).find("exists already"),
            std::string::npos);
  EXPECT_NO_THROW(rsd::RunDirectory::open(dir.path(), "exp", true));
  EXPECT_THROW(rsd::RunDirectory::open(dir.path(), "a/b", false), rsd::ConfigError);
  EXPECT_EQ(rsd::RunDirectory::default_name("configs/synth_tiny.yaml").rfind("synth_tiny-", 0), 0u);
}

TEST(Metrics, LinesAreJsonAndNonFiniteNumbersAreNull) {
  TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  {
    rsd::MetricsWriter writer(path, /*append=*/false);
    writer.write(rsd::MetricsRecord().add("mode", "train").add("iter", 3).add("loss", 0.25).add("ok", true));
    writer.write(rsd::MetricsRecord().add("iter", 4).add("loss", std::nan("")));
  }
  {
    rsd::MetricsWriter writer(path);  // append: a resumed run keeps its history
    writer.write(rsd::MetricsRecord().add("iter", 5));
  }
  std::istringstream lines(read_text(path));
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(lines, line);) records.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["mode"], "train");
  EXPECT_EQ(records[0]["iter"], 3);
  EXPECT_DOUBLE_EQ(records[0]["loss"].get<double>(), 0.25);
  EXPECT_EQ(records[0]["ok"], true);
  EXPECT_TRUE(records[1]["loss"].is_null());
  EXPECT_EQ(records[2]["iter"], 5);
}

TEST(Logging, LevelNames) {
  EXPECT_EQ(rsd::logging::parse_level("debug"), rsd::logging::Level::debug);
  EXPECT_EQ(rsd::logging::level_name(rsd::logging::Level::error), "error");
  EXPECT_NE(error_message([] { rsd::logging::parse_level("verbose"); }).find("trace, debug, info"),
            std::string::npos);
}

}  // namespace

TEST(Logging, ACustomSinkReceivesMessagesAtOrAboveTheLevel) {
  std::vector<std::pair<rsd::logging::Level, std::string>> seen;
  rsd::logging::Sink sink;
  sink.write = [&](rsd::logging::Level level, const std::string& message) {
    seen.emplace_back(level, message);
  };
  const rsd::logging::Level before = rsd::logging::level();
  rsd::logging::set_sink(sink);
  rsd::logging::set_level(rsd::logging::Level::warn);
  rsd::logging::info("dropped");
  rsd::logging::warn("kept");
  rsd::logging::error("also kept");
  rsd::logging::set_sink({});  // the default sink again
  rsd::logging::set_level(before);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, rsd::logging::Level::warn);
  EXPECT_EQ(seen[0].second, "kept");
  EXPECT_EQ(seen[1].first, rsd::logging::Level::error);
}
