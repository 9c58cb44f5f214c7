// The risk cache: building with a scripted teacher, reading back through RiskCacheReader (the
// data::RiskTargetSource of training), resuming after a kill, refusing stale caches.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "rsd/teacher/rasterizer.h"
#include "rsd/teacher/risk_cache.h"
#include "rsd/teacher/risk_cache_builder.h"
#include "rsd/teacher/risk_cache_reader.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"
#include "support/temp_dir.h"

namespace rsd::teacher {
namespace {

const char* const kClip = "Accident_Town03_Route101_Weather23";

GridSpec small_grid(double step = 0.5) {
  return GridSpec({-8.0, 8.0, step}, {-8.0, 8.0, step}, {-5.0, 3.0, 8.0});
}

// Scores object "a" with frame/10 and "b" with 0.5; fails frame 3; after `die_after` judged frames
// it throws, like a process killed mid-run.
class ScriptedTeacher : public RiskTeacher {
 public:
  explicit ScriptedTeacher(int die_after = -1) : die_after_(die_after) {}
  TeacherInfo info() const override { return {"scripted", "script-v1", "0123456789abcdef"}; }
  std::vector<FrameJudgement> judge(const std::vector<FrameContext>& frames) override {
    std::vector<FrameJudgement> out;
    for (const auto& context : frames) {
      if (die_after_ >= 0 && static_cast<int>(seen.size()) >= die_after_) {
        throw std::runtime_error("killed");
      }
      seen.push_back(context.frame.index);
      const int f = context.frame.index;
      if (f == 3) {
        out.push_back(FrameJudgement::failure(context.frame.clip, f, "invalid answer: garbage"));
        continue;
      }
      FrameJudgement judgement;
      judgement.clip = context.frame.clip;
      judgement.frame = f;
      judgement.objects = {{"a", f / 10.0, "reason a" + std::to_string(f)}, {"b", 0.5, "reason b"}};
      judgement.unmatched = {{"box [1, 2, 3, 4] in CAM_FRONT", 0.2, "sky", "best IoU 0.00 < 0.30"}};
      out.push_back(std::move(judgement));
    }
    return out;
  }
  std::vector<int> seen;

 private:
  int die_after_;
};

std::vector<data::Frame> clip_frames(int count) {
  std::vector<data::Frame> frames(count);
  for (int f = 0; f < count; ++f) {
    frames[f].clip = kClip;
    frames[f].index = f;
    data::Box a;
    a.id = "a";
    a.center = {1.0 + f, -2.0, 0.7};
    a.size = {4.5, 1.9, 1.5};
    data::Box b = a;
    b.id = "b";
    b.object_class = data::ObjectClass::pedestrian;
    b.center = {-3.0, 3.0, 0.9};
    b.size = {0.6, 0.6, 1.8};
    frames[f].boxes = {a, b};
  }
  return frames;
}

RiskCacheBuildOptions build_options(const std::string& folder, GridSpec grid = small_grid()) {
  RiskCacheBuildOptions options(grid);
  options.output_dir = folder;
  options.checkpoint_frames = 2;
  return options;
}

TEST(RiskCache, RoundTripThroughTheReader) {
  test::TempDir dir;
  const auto frames = clip_frames(5);
  ScriptedTeacher teacher;
  RiskCacheBuilder builder(build_options(dir.path()), teacher);
  int progressed = 0;
  const ClipBuildReport report = builder.build_clip(kClip, frames, [&](int n) { progressed += n; });
  EXPECT_EQ(report.outcome, ClipBuildReport::Outcome::built);
  EXPECT_EQ(report.frames_judged, 5);
  EXPECT_EQ(report.frames_ok, 4);
  EXPECT_EQ(report.frames_failed, 1);
  EXPECT_EQ(report.unmatched, 4);
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_EQ(report.failures[0], "frame 3: invalid answer: garbage");
  EXPECT_EQ(progressed, 5);
  EXPECT_TRUE(std::filesystem::exists(builder.cache_path(kClip)));
  EXPECT_FALSE(std::filesystem::exists(builder.partial_path(kClip)));

  const RiskCacheReader reader(dir.path(), small_grid());
  EXPECT_EQ(reader.clips(), std::vector<std::string>{kClip});
  const RiskCacheHeader& header = reader.header(kClip);
  EXPECT_EQ(header.format_version, kRiskCacheFormatVersion);
  EXPECT_TRUE(header.complete);
  EXPECT_EQ(header.teacher.type, "scripted");
  EXPECT_EQ(header.teacher.model, "script-v1");
  EXPECT_EQ(header.teacher.prompt_hash, "0123456789abcdef");
  EXPECT_EQ(header.created.size(), 20u);  // 2025-01-31T12:00:00Z

  const RiskRasterizer rasterizer(small_grid());
  for (int f : {0, 1, 2, 4}) {
    const torch::Tensor map = reader.risk_map(kClip, f);
    ASSERT_TRUE(map.defined()) << f;
    EXPECT_EQ(map.scalar_type(), torch::kFloat32);
    const torch::Tensor expected =
        rasterizer.rasterize(frames[f].boxes, {{"a", f / 10.0, ""}, {"b", 0.5, ""}});
    EXPECT_TRUE(torch::allclose(map, expected, /*rtol=*/1e-3, /*atol=*/1e-4)) << "frame " << f;
  }
  EXPECT_FALSE(reader.risk_map(kClip, 3).defined()) << "a failed frame has no label, not zeros";
  EXPECT_FALSE(reader.risk_map(kClip, 99).defined());
  EXPECT_FALSE(reader.risk_map("OtherClip", 0).defined());

  const auto record = reader.frame_record(kClip, 2);
  ASSERT_TRUE(record.has_value());
  ASSERT_EQ(record->objects.size(), 2u);
  EXPECT_EQ(record->objects[0].risk.object_id, "a");
  EXPECT_DOUBLE_EQ(record->objects[0].risk.score, 0.2);
  EXPECT_EQ(record->objects[0].risk.reason, "reason a2");
  EXPECT_EQ(record->objects[1].object_class, data::ObjectClass::pedestrian);
  EXPECT_DOUBLE_EQ(record->objects[0].center.x(), 3.0);
  ASSERT_EQ(record->unmatched.size(), 1u);
  EXPECT_EQ(record->unmatched[0].why, "best IoU 0.00 < 0.30");
  const auto failed = reader.frame_record(kClip, 3);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->status, JudgementStatus::failed);
  EXPECT_EQ(failed->error, "invalid answer: garbage");

  // The whole-file reader agrees.
  const RiskCacheFile file = RiskCacheFile::read(builder.cache_path(kClip));
  ASSERT_EQ(file.frames().size(), 5u);
  EXPECT_TRUE(torch::equal(file.find(4)->map, reader.risk_map(kClip, 4)));
}

TEST(RiskCache, ResumesAfterAKill) {
  test::TempDir dir;
  const auto frames = clip_frames(5);
  {
    ScriptedTeacher dying(/*die_after=*/3);  // judges frames 0-2, dies in the second chunk
    RiskCacheBuilder builder(build_options(dir.path()), dying);
    EXPECT_THROW(builder.build_clip(kClip, frames), std::runtime_error);
    EXPECT_FALSE(std::filesystem::exists(builder.cache_path(kClip)));
    ASSERT_TRUE(std::filesystem::exists(builder.partial_path(kClip)));
    const RiskCacheFile partial = RiskCacheFile::read(builder.partial_path(kClip));
    EXPECT_FALSE(partial.header().complete);
    ASSERT_EQ(partial.frames().size(), 2u) << "only whole checkpoints are saved";
    EXPECT_TRUE(RiskCacheReader(dir.path(), small_grid()).clips().empty())
        << "training never reads a partial cache";
  }
  ScriptedTeacher teacher;
  RiskCacheBuilder builder(build_options(dir.path()), teacher);
  EXPECT_FALSE(builder.is_complete(kClip));
  int progressed = 0;
  const ClipBuildReport report = builder.build_clip(kClip, frames, [&](int n) { progressed += n; });
  EXPECT_EQ(report.outcome, ClipBuildReport::Outcome::resumed);
  EXPECT_EQ(teacher.seen, (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(report.frames_judged, 3);
  EXPECT_EQ(report.frames_ok + report.frames_failed, 5);
  EXPECT_EQ(progressed, 5);
  EXPECT_FALSE(std::filesystem::exists(builder.partial_path(kClip)));
  const RiskCacheReader reader(dir.path(), small_grid());
  for (int f : {0, 1, 2, 4}) EXPECT_TRUE(reader.risk_map(kClip, f).defined()) << f;

  // A complete clip is skipped.
  ScriptedTeacher idle;
  RiskCacheBuilder again(build_options(dir.path()), idle);
  EXPECT_TRUE(again.is_complete(kClip));
  EXPECT_EQ(again.build_clip(kClip, frames).outcome, ClipBuildReport::Outcome::skipped);
  EXPECT_TRUE(idle.seen.empty());
}

TEST(RiskCache, RefusesAnotherGridVersionOrTeacher) {
  test::TempDir dir;
  ScriptedTeacher teacher;
  RiskCacheBuilder builder(build_options(dir.path()), teacher);
  builder.build_clip(kClip, clip_frames(2));
  const std::string path = builder.cache_path(kClip);

  const auto expect_data_error = [&](const std::function<void()>& call, const std::string& text) {
    try {
      call();
      ADD_FAILURE() << "expected rsd::DataError containing '" << text << "'";
    } catch (const DataError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_NE(message.find(text), std::string::npos) << message;
    }
  };
  expect_data_error([&] { RiskCacheReader(dir.path(), small_grid(0.25)); },
                    "was built for the grid x[-8,8,0.5]");
  expect_data_error([&] { RiskCacheBuilder(build_options(dir.path(), small_grid(0.25)), teacher).is_complete(kClip); },
                    "grid");

  class OtherTeacher : public ScriptedTeacher {
   public:
    TeacherInfo info() const override { return {"scripted", "script-v2", "0123456789abcdef"}; }
  } other;
  expect_data_error([&] { RiskCacheBuilder(build_options(dir.path()), other).is_complete(kClip); },
                    "delete it or set teacher.output");

  std::string bytes = read_file(path);
  bytes[8] = 2;  // format version
  write_file_atomic(path, bytes);
  expect_data_error([&] { RiskCacheReader(dir.path(), small_grid()); }, "format version 2");
  write_file_atomic(path, "not a cache at all, just some text that is long enough to have a header "
                          "of one hundred and four bytes, or so it seems");
  expect_data_error([&] { RiskCacheReader(dir.path(), small_grid()); }, "not a librsd risk cache");
}

}  // namespace
}  // namespace rsd::teacher
