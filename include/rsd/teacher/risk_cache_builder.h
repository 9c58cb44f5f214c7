// Building the risk cache: judge every frame of a clip with a teacher, rasterise the per-object
// risks on the grid, write <clip>.rsdrisk. Resumable: a complete cache of the same grid, teacher
// and settings (risk_cache_settings()) is skipped; a clip interrupted midway left
// <clip>.rsdrisk.partial (rewritten atomically every checkpoint_frames judged frames), whose
// frames are kept and not judged again. A cache or partial file of the same teacher made with
// other settings (or recording none) is stale: the clip is judged again from scratch (logged).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "rsd/teacher/ego_path.h"
#include "rsd/teacher/endpoint_pool.h"
#include "rsd/teacher/rasterizer.h"
#include "rsd/teacher/risk_cache.h"
#include "rsd/teacher/risk_teacher.h"

namespace rsd::teacher {

struct RiskCacheBuildOptions {
  explicit RiskCacheBuildOptions(GridSpec grid_) : grid(std::move(grid_)) {}

  std::string output_dir = "risk_cache";
  GridSpec grid;
  RasterizeOptions rasterize;
  EgoPathOptions ego_path;
  int checkpoint_frames = 16;  // judged frames between two saves of the partial file
};

/// Every setting the maps of a cache built with `options` and a teacher of `teacher` depend on:
/// the teacher's identity (teacher.type, teacher.model, teacher.prompt_hash) and its settings,
/// teacher.rasterize.*, teacher.ego_path.* (when the teacher uses the ego path) and data.grid.*.
/// Recorded in every cache header; training compares it with its config's.
SettingsMap risk_cache_settings(const RiskCacheBuildOptions& options, const TeacherInfo& teacher);

struct ClipBuildReport {
  // rebuilt: a complete cache of other settings was judged again
  enum class Outcome { built, resumed, skipped, rebuilt };
  std::string clip;
  Outcome outcome = Outcome::built;
  int frames_total = 0;
  int frames_judged = 0;     // by this run
  int frames_ok = 0;         // in the finished cache
  int frames_failed = 0;
  int unmatched = 0;         // objects the teacher named that matched no annotated box
  std::vector<std::string> failures;  // "frame 12: <why>", for the report
};

class RiskCacheBuilder {
 public:
  RiskCacheBuilder(RiskCacheBuildOptions options, RiskTeacher& teacher);

  std::string cache_path(const std::string& clip) const;
  std::string partial_path(const std::string& clip) const;

  /// True when a complete cache of `clip` exists for this grid, teacher and settings; false for
  /// a stale one (other settings, or none recorded), which build_clip() judges again. Throws
  /// rsd::DataError naming the file when one exists for another grid, format version or teacher.
  bool is_complete(const std::string& clip) const;

  /// Judges and caches `frames` (all frames of the clip, ascending). `progress(n)` is called as
  /// frames get done. Exceptions of the teacher propagate; what was saved in the partial file stays.
  ClipBuildReport build_clip(const std::string& clip, const std::vector<data::Frame>& frames,
                             const std::function<void(int)>& progress = {});

  const RiskCacheBuildOptions& options() const { return options_; }
  /// risk_cache_settings() of this builder's options and teacher.
  const SettingsMap& settings() const { return settings_; }

 private:
  RiskCacheHeader new_header(const std::string& clip) const;
  void check_compatible(const RiskCacheHeader& header, const std::string& path) const;

  RiskCacheBuildOptions options_;
  RiskTeacher& teacher_;
  TeacherInfo info_;
  SettingsMap settings_;
};

struct RiskCacheRunOptions {
  std::string data_root;             // folder of clip folders (data::ClipIndex)
  std::vector<std::string> cameras;  // the cameras each frame is read with (data::FrameReader)
  std::vector<std::string> clips;    // restrict to these clip names; empty: every clip
  /// When set, only the clips it owns (this process's shard of a split run).
  std::function<bool(const std::string& clip)> owns;
  bool progress = true;
};

struct RiskCacheRunReport {
  std::string output_dir;
  std::vector<ClipBuildReport> clips;
  int frames_ok = 0;
  int frames_failed = 0;
  int unmatched = 0;
  /// Requests, failures and latency per server of the VLM teacher (empty for other teachers).
  std::vector<EndpointReport> endpoints;
};

/// The work of `rsd_cache_risk`: every clip (or the listed ones) under options.data_root, frames
/// read with options.cameras, judged by `teacher`, cached into build.output_dir; a progress bar over
/// frames, failures logged per frame and summed up at the end. Complete caches are not judged again.
RiskCacheRunReport run_risk_cache(const RiskCacheBuildOptions& build, RiskTeacher& teacher,
                                  const RiskCacheRunOptions& options);

}  // namespace rsd::teacher
