#include "rsd/teacher/risk_cache_builder.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include "risk_cache_format.h"
#include "rsd/data/clip_index.h"
#include "rsd/data/frame_reader.h"
#include "rsd/util/error.h"
#include "rsd/util/progress.h"
#include "rsd/version.h"

namespace rsd::teacher {
namespace {

// The creation time recorded in headers: now, or SOURCE_DATE_EPOCH (seconds since 1970, the
// reproducible-builds convention) when set, so that runs split over shards, restarted or repeated
// can write byte-identical files.
std::string utc_now() {
  std::time_t now = std::time(nullptr);
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch != nullptr && *epoch != '\0') {
    char* end = nullptr;
    const long long seconds = std::strtoll(epoch, &end, 10);
    if (*end != '\0' || seconds < 0) {
      throw ConfigError(std::string("SOURCE_DATE_EPOCH='") + epoch +
                        "' is not a whole number of seconds since 1970");
    }
    now = static_cast<std::time_t>(seconds);
  }
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string describe(const TeacherInfo& info) {
  std::string text = info.type + " (model " + info.model;
  if (!info.prompt_hash.empty()) text += ", prompt " + info.prompt_hash;
  return text + ")";
}

CachedFrame cached_frame(const FrameJudgement& judgement, const data::Frame& frame,
                         const RiskRasterizer& rasterizer) {
  CachedFrame cached;
  cached.frame = frame.index;
  cached.status = judgement.status;
  cached.attempts = judgement.attempts;
  cached.error = judgement.error;
  cached.answer_excerpt = judgement.answer_excerpt;
  cached.unmatched = judgement.unmatched;
  if (!judgement.ok()) return cached;
  std::map<std::string, const data::Box*> by_id;
  for (const auto& box : frame.boxes) by_id.emplace(box.id, &box);
  for (const auto& risk : judgement.objects) {
    const auto it = by_id.find(risk.object_id);
    RSD_CHECK(it != by_id.end(), "clip ", frame.clip, " frame ", frame.index,
              ": the teacher judged object id ", risk.object_id, " which the frame does not have");
    RSD_CHECK(risk.score >= 0.0 && risk.score <= 1.0, "clip ", frame.clip, " frame ", frame.index,
              ": the teacher's score ", risk.score, " for object ", risk.object_id,
              " is outside [0, 1]");
    const data::Box& box = *it->second;
    cached.objects.push_back({risk, box.object_class, box.center, box.size, box.yaw});
  }
  cached.map = rasterizer.rasterize(frame.boxes, judgement.objects);
  return cached;
}

std::string axis_text(const GridAxis& axis) {
  return "[" + setting_text(axis.min) + ", " + setting_text(axis.max) + ", " +
         setting_text(axis.step) + "]";
}

}  // namespace

SettingsMap risk_cache_settings(const RiskCacheBuildOptions& options, const TeacherInfo& teacher) {
  SettingsMap settings = teacher.settings;
  settings["teacher.type"] = teacher.type;
  settings["teacher.model"] = teacher.model;
  settings["teacher.prompt_hash"] = teacher.prompt_hash;
  const RasterizeOptions& rasterize = options.rasterize;
  settings["teacher.rasterize.mode"] =
      rasterize.mode == RasterizeMode::gaussian ? "gaussian" : "footprint";
  settings["teacher.rasterize.min_radius"] = std::to_string(rasterize.min_radius);
  settings["teacher.rasterize.min_overlap"] = setting_text(rasterize.min_overlap);
  if (teacher.uses_ego_path) {
    const EgoPathOptions& path = options.ego_path;
    settings["teacher.ego_path.source"] =
        path.source == EgoPathSource::frames ? "frames" : "extrapolate";
    settings["teacher.ego_path.horizon_s"] = setting_text(path.horizon_s);
    settings["teacher.ego_path.step_s"] = setting_text(path.step_s);
    settings["teacher.ego_path.frame_rate_hz"] = setting_text(path.frame_rate_hz);
  }
  settings["data.grid.x"] = axis_text(options.grid.x());
  settings["data.grid.y"] = axis_text(options.grid.y());
  settings["data.grid.z"] = axis_text(options.grid.z());
  return settings;
}

RiskCacheBuilder::RiskCacheBuilder(RiskCacheBuildOptions options, RiskTeacher& teacher)
    : options_(std::move(options)),
      teacher_(teacher),
      info_(teacher.info()),
      settings_(risk_cache_settings(options_, info_)) {
  RSD_CHECK_GE(options_.checkpoint_frames, 1, "teacher.checkpoint_frames");
}

std::string RiskCacheBuilder::cache_path(const std::string& clip) const {
  return (std::filesystem::path(options_.output_dir) / (clip + kRiskCacheExtension)).string();
}

std::string RiskCacheBuilder::partial_path(const std::string& clip) const {
  return (std::filesystem::path(options_.output_dir) / (clip + kRiskCachePartialExtension)).string();
}

RiskCacheHeader RiskCacheBuilder::new_header(const std::string& clip) const {
  RiskCacheHeader header(options_.grid);
  header.clip = clip;
  header.teacher = info_;
  header.settings = settings_;
  header.created = utc_now();
  header.librsd_version = rsd::version();
  return header;
}

void RiskCacheBuilder::check_compatible(const RiskCacheHeader& header,
                                        const std::string& path) const {
  detail::check_grid(header, options_.grid, path);
  if (header.teacher.type != info_.type || header.teacher.model != info_.model ||
      header.teacher.prompt_hash != info_.prompt_hash) {
    throw DataError(path + " was built by the teacher " + describe(header.teacher) +
                    ", this run uses " + describe(info_) +
                    "; delete it or set teacher.output to another folder");
  }
}

bool RiskCacheBuilder::is_complete(const std::string& clip) const {
  const std::string path = cache_path(clip);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return false;
  const RiskCacheHeader header = RiskCacheFile::read_header(path);
  check_compatible(header, path);
  return header.complete && header.settings == settings_;
}

ClipBuildReport RiskCacheBuilder::build_clip(const std::string& clip,
                                             const std::vector<data::Frame>& frames,
                                             const std::function<void(int)>& progress) {
  ClipBuildReport report;
  report.clip = clip;
  report.frames_total = static_cast<int>(frames.size());
  const auto count = [&report](const RiskCacheFile& file) {
    for (const auto& frame : file.frames()) {
      if (frame.status == JudgementStatus::ok) {
        ++report.frames_ok;
      } else {
        ++report.frames_failed;
        report.failures.push_back("frame " + std::to_string(frame.frame) + ": " + frame.error);
      }
      report.unmatched += static_cast<int>(frame.unmatched.size());
    }
  };
  if (is_complete(clip)) {
    report.outcome = ClipBuildReport::Outcome::skipped;
    count(RiskCacheFile::read(cache_path(clip), &options_.grid));
    if (progress) progress(report.frames_total);
    return report;
  }

  std::error_code ec;
  if (std::filesystem::exists(cache_path(clip), ec)) {  // not complete: stale
    const RiskCacheHeader stale = RiskCacheFile::read_header(cache_path(clip));
    const std::string difference = settings_difference(stale.settings, settings_);
    spdlog::warn("{}: judging the clip again: {} {}", clip, cache_path(clip),
                 difference.empty() ? "is marked incomplete"
                                    : "was made with other settings: " + difference);
    report.outcome = ClipBuildReport::Outcome::rebuilt;
  }

  // A partial file of other settings is never continued: its frames would mix two settings.
  const std::string partial = partial_path(clip);
  RiskCacheFile file(new_header(clip));
  if (std::filesystem::exists(partial, ec)) {
    const RiskCacheHeader saved_header = RiskCacheFile::read_header(partial);
    check_compatible(saved_header, partial);
    const std::string difference = settings_difference(saved_header.settings, settings_);
    if (difference.empty()) {
      file = RiskCacheFile::read(partial);
      report.outcome = ClipBuildReport::Outcome::resumed;
      spdlog::info("{}: resuming from {} ({} frames done)", clip, partial, file.frames().size());
    } else {
      spdlog::warn("{}: discarding {}, made with other settings: {}", clip, partial, difference);
      std::filesystem::remove(partial);
    }
  }

  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    RSD_CHECK(i == 0 || frames[i].index > frames[i - 1].index, "clip ", clip,
              ": frames must be in ascending order");
    if (!file.find(frames[i].index)) todo.push_back(i);
  }
  if (progress && frames.size() > todo.size()) progress(static_cast<int>(frames.size() - todo.size()));

  const RiskRasterizer rasterizer(options_.grid, options_.rasterize);
  const auto chunk_size = static_cast<std::size_t>(options_.checkpoint_frames);
  for (std::size_t start = 0; start < todo.size(); start += chunk_size) {
    const std::size_t end = std::min(todo.size(), start + chunk_size);
    std::vector<FrameContext> contexts;
    for (std::size_t k = start; k < end; ++k) {
      contexts.push_back({frames[todo[k]], ego_path(frames, todo[k], options_.ego_path)});
    }
    const std::vector<FrameJudgement> judgements = teacher_.judge(contexts);
    RSD_CHECK_EQ(judgements.size(), contexts.size(), "judgements for clip ", clip);
    for (std::size_t k = 0; k < judgements.size(); ++k) {
      file.add(cached_frame(judgements[k], contexts[k].frame, rasterizer));
    }
    report.frames_judged += static_cast<int>(judgements.size());
    file.header().complete = false;
    file.write(partial);
    if (progress) progress(static_cast<int>(judgements.size()));
  }

  file.header().complete = true;
  file.write(cache_path(clip));
  std::filesystem::remove(partial, ec);
  count(file);
  return report;
}

RiskCacheRunReport run_risk_cache(const RiskCacheBuildOptions& build_options, RiskTeacher& teacher,
                                  const RiskCacheRunOptions& options) {
  RiskCacheBuilder builder(build_options, teacher);

  const data::ClipIndex index = data::ClipIndex::scan(options.data_root);
  std::vector<const data::ClipInfo*> clips;
  if (options.clips.empty()) {
    for (const auto& clip : index.clips()) clips.push_back(&clip);
  } else {
    for (const auto& name : options.clips) clips.push_back(&index.clip(name));
  }
  if (options.owns) {
    const std::size_t before = clips.size();
    clips.erase(std::remove_if(clips.begin(), clips.end(),
                               [&](const data::ClipInfo* clip) { return !options.owns(clip->name); }),
                clips.end());
    spdlog::info("risk cache: this process owns {} of the {} clips", clips.size(), before);
  }

  RiskCacheRunReport report;
  report.output_dir = build_options.output_dir;
  // Even a shard that owns no clip leaves its (empty) folder: a merge of every shard's folder then
  // works whatever the hash gave each.
  std::filesystem::create_directories(build_options.output_dir);
  int64_t total_frames = 0;
  for (const auto* clip : clips) total_frames += static_cast<int64_t>(clip->frames.size());
  spdlog::info("risk cache: teacher {}, {} clips ({} frames) from {} into {}",
               describe(teacher.info()), clips.size(), total_frames, index.root(),
               build_options.output_dir);

  ProgressOptions progress_options;
  progress_options.enabled = options.progress;
  ProgressBar bar("risk cache", total_frames, progress_options);
  const data::FrameReader reader(options.cameras);
  int counts[4] = {0, 0, 0, 0};  // by ClipBuildReport::Outcome
  for (const auto* clip : clips) {
    ClipBuildReport clip_report;
    if (builder.is_complete(clip->name)) {
      // A complete clip is not judged again: build_clip only counts what its cache holds.
      clip_report = builder.build_clip(clip->name, {}, {});
      clip_report.frames_total = static_cast<int>(clip->frames.size());
      bar.advance(static_cast<int64_t>(clip->frames.size()));
    } else {
      std::vector<data::Frame> frames;
      frames.reserve(clip->frames.size());
      for (const int frame : clip->frames) frames.push_back(reader.read(*clip, frame));
      clip_report = builder.build_clip(clip->name, frames, [&bar](int n) { bar.advance(n); });
    }
    for (const auto& failure : clip_report.failures) {
      if (clip_report.outcome != ClipBuildReport::Outcome::skipped) {
        spdlog::warn("{} {} (FAILED: no risk label for this frame)", clip->name, failure);
      }
    }
    ++counts[static_cast<int>(clip_report.outcome)];
    report.frames_ok += clip_report.frames_ok;
    report.frames_failed += clip_report.frames_failed;
    report.unmatched += clip_report.unmatched;
    bar.set_status(std::to_string(report.frames_failed) + " failed");
    report.clips.push_back(std::move(clip_report));
  }
  bar.finish();
  spdlog::info("risk cache: {} clips built, {} rebuilt (made with other settings), {} resumed, {} "
               "already complete; frames: {} ok, {} FAILED (no label, masked in training); {} "
               "named objects matched no annotated box",
               counts[0], counts[3], counts[1], counts[2], report.frames_ok, report.frames_failed,
               report.unmatched);
  return report;
}

}  // namespace rsd::teacher
