// Is a risk cache folder complete for a set of clips (`rsd_cache_risk verify`)? Each clip's cache
// is one of
//   complete  <clip>.rsdrisk of the current settings holding every annotated frame of the clip
//   partial   a .partial file of the current settings, or a cache lacking some frames
//   missing   neither file
//   stale     made with other settings (teacher, prompt, rasteriser, grid: the check
//             RiskCacheBuilder::is_complete makes), or not readable as a cache
// and the FAILED frames of the cached clips are counted by reason. Nothing is written.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rsd/teacher/risk_cache_builder.h"

namespace rsd::teacher {

enum class ClipCacheState { complete, partial, missing, stale };
const char* to_string(ClipCacheState state);

struct ClipCacheStatus {
  std::string clip;
  ClipCacheState state = ClipCacheState::missing;
  int frames_expected = 0;
  int frames_cached = 0;
  int frames_failed = 0;
  std::string why;  // partial: what is missing; stale: how the settings differ or the read error
};

struct RiskCacheVerifyReport {
  std::string cache_dir;
  std::vector<ClipCacheStatus> clips;
  std::map<std::string, int> failures_by_reason;  // "timeout", "HTTP 503", "invalid answer", ...
  int frames_expected = 0;
  int frames_ok = 0;
  int frames_failed = 0;

  int count(ClipCacheState state) const;
  /// Every clip complete, and FAILED frames not more than `max_failed_fraction` of the frames
  /// (teacher.max_failed_fraction, the bound rsd_cache_risk itself enforces).
  bool complete(double max_failed_fraction) const;
  /// The report for people: a summary line, one line per clip that is not complete, the failure
  /// reasons with their counts.
  std::vector<std::string> lines() const;
};

/// A clip to check and its annotated frame numbers (ascending).
struct ExpectedClip {
  std::string name;
  std::vector<int> frames;
};

/// Checks builder.options().output_dir against `clips` with the builder's grid and settings.
RiskCacheVerifyReport verify_risk_cache(const RiskCacheBuilder& builder,
                                        const std::vector<ExpectedClip>& clips);

/// The group a FAILED frame's error belongs to: its text up to the first ':' ("HTTP 503: ..." ->
/// "HTTP 503"), at most 60 characters.
std::string failure_reason_group(const std::string& error);

}  // namespace rsd::teacher
