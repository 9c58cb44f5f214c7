// The risk cache: building with a scripted teacher, reading back through RiskCacheReader (the
// data::RiskTargetSource of training), resuming after a kill, refusing stale caches; the settings
// a cache records (teacher, rasteriser, ego path, grid): caches and partial files of other
// settings are rebuilt, never mixed, and training refuses them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "rsd/config/config.h"
#include "rsd/pipeline/data_sources.h"
#include "rsd/pipeline/risk_cache_job.h"
#include "rsd/pipeline/teacher_factory.h"
#include "rsd/teacher/rasterizer.h"
#include "rsd/teacher/risk_cache.h"
#include "rsd/teacher/risk_cache_builder.h"
#include "rsd/teacher/risk_cache_reader.h"
#include "rsd/teacher/rule_teacher.h"
#include "rsd/teacher/vlm_teacher.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"
#include "support/synthetic_dataset.h"
#include "support/temp_dir.h"

namespace rsd::teacher {
namespace {

const char* const kClip = "Accident_Town03_Route101_Weather23";

GridSpec small_grid(double step = 0.5) {
  return GridSpec({-8.0, 8.0, step}, {-8.0, 8.0, step}, {-5.0, 3.0, 8.0});
}

// Scores object "a" with frame/10 and "b" with b_score (a setting); fails frame 3; after
// `die_after` judged frames it throws, like a process killed mid-run.
class ScriptedTeacher : public RiskTeacher {
 public:
  explicit ScriptedTeacher(int die_after = -1, double b_score_ = 0.5)
      : b_score(b_score_), die_after_(die_after) {}
  TeacherInfo info() const override {
    return {"scripted", "script-v1", "0123456789abcdef",
            {{"teacher.scripted.b_score", setting_text(b_score)}}};
  }
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
      judgement.objects = {{"a", f / 10.0, "reason a" + std::to_string(f)}, {"b", b_score, "reason b"}};
      judgement.unmatched = {{"box [1, 2, 3, 4] in CAM_FRONT", 0.2, "sky", "best IoU 0.00 < 0.30"}};
      out.push_back(std::move(judgement));
    }
    return out;
  }
  std::vector<int> seen;
  double b_score;

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

// ---- the settings a cache was made with ---------------------------------------------------------

// The message of the rsd::DataError `call` throws; fails the test when it throws none.
std::string data_error(const std::function<void()>& call) {
  try {
    call();
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an rsd::DataError";
  return "";
}

TEST(RiskCacheSettings, RecordEveryRuleRasterizeEgoPathAndGridSetting) {
  const SettingsMap settings = risk_cache_settings(build_options("unused"), RuleTeacher().info());
  for (const char* key :
       {"teacher.type", "teacher.model", "teacher.rule.lateral_margin_m", "teacher.rule.lookahead_m",
        "teacher.rule.ego_length", "teacher.rasterize.mode", "teacher.rasterize.min_overlap",
        "teacher.ego_path.source", "teacher.ego_path.horizon_s", "data.grid.x", "data.grid.z"}) {
    EXPECT_EQ(settings.count(key), 1u) << key;
  }
  EXPECT_EQ(settings.at("teacher.rule.lateral_margin_m"), "0.5");
  EXPECT_EQ(settings.at("data.grid.x"), "[-8, 8, 0.5]");
  EXPECT_EQ(setting_text(0.1), "0.1") << "the shortest text that reads back the same double";
  EXPECT_EQ(setting_text(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(settings_hash(settings).size(), 16u);
  EXPECT_EQ(settings_hash(settings), settings_hash(SettingsMap(settings))) << "stable";
  EXPECT_EQ(settings_hash({}), "") << "no settings: unknown";

  // A teacher that ignores the ego path does not depend on teacher.ego_path.
  TeacherInfo no_path = RuleTeacher().info();
  no_path.uses_ego_path = false;
  EXPECT_EQ(risk_cache_settings(build_options("unused"), no_path).count("teacher.ego_path.horizon_s"),
            0u);

  RuleTeacherOptions other;
  other.ttc_critical_s = 1.5;
  const SettingsMap changed = risk_cache_settings(build_options("unused"), RuleTeacher(other).info());
  EXPECT_NE(settings_hash(changed), settings_hash(settings));
  const std::string difference = settings_difference(settings, changed);
  EXPECT_NE(difference.find("teacher.rule.*"), std::string::npos) << difference;
  EXPECT_NE(difference.find("teacher.rule.ttc_critical_s: 1 in the cache, 1.5 now"),
            std::string::npos) << difference;
  EXPECT_NE(difference.find(settings_hash(settings)), std::string::npos) << difference;
  EXPECT_NE(difference.find(settings_hash(changed)), std::string::npos) << difference;
  EXPECT_EQ(settings_difference(settings, settings), "");
}

// Existing caches store these digests in their headers: a different hash would make them all
// stale. The golden values are 64-bit FNV-1a computed independently (Python: h = 0xcbf29ce484222325;
// for b in data: h ^= b; h = (h * 0x100000001b3) % 2**64), of the compact sorted-key JSON of the
// settings and of "<system prompt>\n---\n<template>" as UTF-8 bytes.
TEST(RiskCacheSettings, HashesAreTheFnv1aDigestsThatExistingCachesStore) {
  EXPECT_EQ(settings_hash({{"teacher.type", "rule"}, {"data.grid.x", "[-8, 8, 0.5]"}}),
            "67a2656a6e98e6eb");
  EXPECT_EQ(settings_hash({{"teacher.type", "rule"}, {"teacher.model", "m1467"}}),
            "00009670a681e03b")
      << "16 digits, leading zeros kept";
  VlmTeacherOptions options;
  options.system_prompt = "Rate the risk, caf\xc3\xa9.";  // bytes above 0x7f hash unsigned
  options.prompt_template = "Objects: {{objects}}";
  EXPECT_EQ(vlm_teacher_info(options).prompt_hash, "03e82b840e3a6080");
}

TEST(RiskCacheSettings, ChangedRuleRasterizeOrEgoPathSettingsRebuildTheClip) {
  test::TempDir dir;
  const auto frames = clip_frames(3);
  const auto build = [&](const RuleTeacherOptions& rule, const RiskCacheBuildOptions& options) {
    RuleTeacher teacher(rule);
    RiskCacheBuilder builder(options, teacher);
    return builder.build_clip(kClip, frames);
  };
  const RuleTeacherOptions rule_a;
  EXPECT_EQ(build(rule_a, build_options(dir.path())).outcome, ClipBuildReport::Outcome::built);
  EXPECT_EQ(build(rule_a, build_options(dir.path())).outcome, ClipBuildReport::Outcome::skipped)
      << "the same settings: already complete";

  RuleTeacherOptions rule_b;
  rule_b.lateral_margin_m = 2.0;  // teacher.rule.lateral_margin_m
  {
    RuleTeacher teacher(rule_b);
    RiskCacheBuilder builder(build_options(dir.path()), teacher);
    EXPECT_FALSE(builder.is_complete(kClip)) << "a cache of other rule settings is stale";
    const ClipBuildReport report = builder.build_clip(kClip, frames);
    EXPECT_EQ(report.outcome, ClipBuildReport::Outcome::rebuilt);
    EXPECT_EQ(report.frames_judged, 3);
    const RiskCacheHeader header = RiskCacheFile::read_header(builder.cache_path(kClip));
    EXPECT_EQ(header.settings.at("teacher.rule.lateral_margin_m"), "2");
    EXPECT_EQ(header.settings, builder.settings());
  }
  RiskCacheBuildOptions footprint = build_options(dir.path());
  footprint.rasterize.mode = RasterizeMode::footprint;  // teacher.rasterize.mode
  EXPECT_EQ(build(rule_b, footprint).outcome, ClipBuildReport::Outcome::rebuilt);
  RiskCacheBuildOptions longer = footprint;
  longer.ego_path.horizon_s = 6.0;  // teacher.ego_path.horizon_s
  EXPECT_EQ(build(rule_b, longer).outcome, ClipBuildReport::Outcome::rebuilt);
  EXPECT_EQ(build(rule_b, longer).outcome, ClipBuildReport::Outcome::skipped);
}

TEST(RiskCacheSettings, APartialFileOfOtherSettingsIsDiscardedNotContinued) {
  test::TempDir dir;
  const auto frames = clip_frames(5);
  {
    ScriptedTeacher dying(/*die_after=*/3, /*b_score=*/0.5);  // saves frames 0-1, then dies
    RiskCacheBuilder builder(build_options(dir.path()), dying);
    EXPECT_THROW(builder.build_clip(kClip, frames), std::runtime_error);
    ASSERT_TRUE(std::filesystem::exists(builder.partial_path(kClip)));
  }
  ScriptedTeacher teacher(/*die_after=*/-1, /*b_score=*/0.9);
  RiskCacheBuilder builder(build_options(dir.path()), teacher);
  const ClipBuildReport report = builder.build_clip(kClip, frames);
  EXPECT_EQ(report.outcome, ClipBuildReport::Outcome::built) << "not resumed";
  EXPECT_EQ(teacher.seen, (std::vector<int>{0, 1, 2, 3, 4})) << "every frame judged again";
  EXPECT_FALSE(std::filesystem::exists(builder.partial_path(kClip)));
  const RiskCacheFile file = RiskCacheFile::read(builder.cache_path(kClip));
  for (const auto& frame : file.frames()) {
    if (frame.status != JudgementStatus::ok) continue;
    ASSERT_EQ(frame.objects.size(), 2u);
    EXPECT_DOUBLE_EQ(frame.objects[1].risk.score, 0.9) << "frame " << frame.frame
                                                        << " comes from the old settings";
  }
}

TEST(RiskCacheSettings, ACacheRecordingNoSettingsIsStale) {
  // Caches written before the settings were recorded: the same header without them.
  test::TempDir dir;
  ScriptedTeacher teacher;
  RiskCacheBuilder builder(build_options(dir.path()), teacher);
  RiskCacheHeader header(small_grid());
  header.clip = kClip;
  header.complete = true;
  header.teacher = teacher.info();
  RiskCacheFile old(header);
  CachedFrame frame;
  frame.frame = 0;
  frame.map = torch::zeros({small_grid().ny(), small_grid().nx()});
  old.add(frame);
  old.write(builder.cache_path(kClip));
  EXPECT_EQ(read_file(builder.cache_path(kClip)).find("settings"), std::string::npos);
  EXPECT_TRUE(RiskCacheFile::read_header(builder.cache_path(kClip)).settings.empty());

  const std::string message = data_error([&] {
    RiskCacheReader(dir.path(), small_grid(), {builder.settings(), RiskCacheCheck::strict});
  });
  EXPECT_NE(message.find(builder.cache_path(kClip)), std::string::npos) << message;
  EXPECT_NE(message.find("records no settings"), std::string::npos) << message;
  EXPECT_NE(message.find(settings_hash(builder.settings())), std::string::npos) << message;

  EXPECT_FALSE(builder.is_complete(kClip));
  const ClipBuildReport report = builder.build_clip(kClip, clip_frames(2));
  EXPECT_EQ(report.outcome, ClipBuildReport::Outcome::rebuilt);
  EXPECT_EQ(report.frames_judged, 2);
  EXPECT_NO_THROW(RiskCacheReader(dir.path(), small_grid(), {builder.settings(), RiskCacheCheck::strict}));
}

TEST(RiskCacheSettings, TheReaderRefusesOtherSettingsUnlessToldToWarnOrNotCheck) {
  test::TempDir dir;
  ScriptedTeacher teacher(/*die_after=*/-1, /*b_score=*/0.5);
  RiskCacheBuilder builder(build_options(dir.path()), teacher);
  builder.build_clip(kClip, clip_frames(2));
  const SettingsMap built = builder.settings();
  SettingsMap expected = built;
  expected["teacher.scripted.b_score"] = "0.7";

  EXPECT_NO_THROW(RiskCacheReader(dir.path(), small_grid(), {built, RiskCacheCheck::strict}));
  const std::string message = data_error([&] {
    RiskCacheReader(dir.path(), small_grid(), {expected, RiskCacheCheck::strict});
  });
  for (const std::string& part :
       {builder.cache_path(kClip), settings_hash(built), settings_hash(expected),
        std::string("teacher.scripted.*"), std::string("teacher.scripted.b_score: 0.5 in the cache"),
        std::string("data.risk_cache_check")}) {
    EXPECT_NE(message.find(part), std::string::npos) << part << " in: " << message;
  }
  const RiskCacheReader warned(dir.path(), small_grid(), {expected, RiskCacheCheck::warn});
  EXPECT_TRUE(warned.risk_map(kClip, 0).defined());
  EXPECT_NO_THROW(RiskCacheReader(dir.path(), small_grid(), {expected, RiskCacheCheck::off}));
  EXPECT_NO_THROW(RiskCacheReader(dir.path(), small_grid())) << "no expected settings: no check";

  // A header whose recorded hash is not that of its settings was edited: refused.
  std::string bytes = read_file(builder.cache_path(kClip));
  const auto at = bytes.find(settings_hash(built));
  ASSERT_NE(at, std::string::npos);
  bytes[at] = bytes[at] == '0' ? '1' : '0';
  write_file_atomic(builder.cache_path(kClip), bytes);
  EXPECT_NE(data_error([&] { RiskCacheReader(dir.path(), small_grid()); }).find("settings_hash"),
            std::string::npos);
}

TEST(RiskCacheSettings, TrainingRefusesACacheBuiltWithOtherTeacherSettings) {
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
  const auto first = pipeline::run_risk_cache(config, job);
  ASSERT_EQ(first.clips.size(), 1u);
  const std::string clip = first.clips[0].clip;
  const std::string path = dir.file("risk/" + clip + kRiskCacheExtension);
  EXPECT_NE(pipeline::risk_source_from(config), nullptr) << "the config the cache was built with";

  config.set("teacher.rule.ttc_critical_s", "2.0");
  const std::string message = data_error([&] { pipeline::risk_source_from(config); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("teacher.rule.ttc_critical_s: 1 in the cache, 2 now"), std::string::npos)
      << message;
  EXPECT_NE(message.find(settings_hash(pipeline::risk_cache_settings_from(config))),
            std::string::npos) << message;
  config.set("data.risk_cache_check", "warn");
  EXPECT_NE(pipeline::risk_source_from(config), nullptr);
  config.set("data.risk_cache_check", "off");
  EXPECT_NE(pipeline::risk_source_from(config), nullptr);
  config.set("data.risk_cache_check", "strict");

  // rsd_cache_risk with the new settings judges the clip again; then training accepts it.
  const auto second = pipeline::run_risk_cache(config, job);
  ASSERT_EQ(second.clips.size(), 1u);
  EXPECT_EQ(second.clips[0].outcome, ClipBuildReport::Outcome::rebuilt);
  EXPECT_EQ(second.clips[0].frames_judged, 3);
  EXPECT_NE(pipeline::risk_source_from(config), nullptr);
  EXPECT_EQ(pipeline::run_risk_cache(config, job).clips[0].outcome,
            ClipBuildReport::Outcome::skipped);
}

TEST(RiskCacheSettings, TrainingDerivesTheSettingsTheBuiltTeacherRecords) {
  // Training computes the expected settings without building the teacher: they must be exactly
  // what the built teacher reports to rsd_cache_risk, for every built-in type.
  test::TempDir dir;
  Config config = Config::defaults();
  config.set("teacher.jsonl.path", "\"" + dir.write("answers.jsonl", "") + "\"");
  for (const char* type : {"rule", "vlm", "jsonl"}) {
    config.set("teacher.type", type);
    const TeacherInfo built = pipeline::make_teacher(config)->info();
    const TeacherInfo derived = pipeline::teacher_info_from(config);
    EXPECT_EQ(derived.type, type);
    EXPECT_EQ(derived.model, built.model) << type;
    EXPECT_EQ(derived.prompt_hash, built.prompt_hash) << type;
    EXPECT_EQ(derived.settings, built.settings) << type;
    EXPECT_EQ(derived.uses_ego_path, built.uses_ego_path) << type;
  }
  config.set("teacher.type", "vlm");
  const SettingsMap vlm = pipeline::risk_cache_settings_from(config);
  EXPECT_EQ(vlm.count("teacher.ego_path.horizon_s"), 0u) << "the VLM does not see the ego path";
  EXPECT_EQ(vlm.count("teacher.vlm.endpoint"), 0u) << "where the model runs changes no answer";
  config.set("teacher.vlm.temperature", "0.7");
  EXPECT_EQ(pipeline::risk_cache_settings_from(config).at("teacher.vlm.temperature"), "0.7");
  config.set("teacher.vlm.system_prompt", "\"You rank risks.\"");
  EXPECT_NE(pipeline::risk_cache_settings_from(config).at("teacher.prompt_hash"),
            vlm.at("teacher.prompt_hash"));
}

}  // namespace
}  // namespace rsd::teacher
