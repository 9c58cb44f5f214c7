#include "rsd/teacher/risk_cache_verify.h"

#include <fmt/format.h>

#include <filesystem>

#include "rsd/util/error.h"

namespace rsd::teacher {
namespace {

constexpr std::size_t kReasonGroupLength = 60;

// Frame numbers as "3, 7, 12" (the first few, then how many more).
std::string frame_list(const std::vector<int>& frames) {
  constexpr std::size_t kShown = 8;
  std::string text;
  for (std::size_t i = 0; i < frames.size() && i < kShown; ++i) {
    text += (i == 0 ? "" : ", ") + std::to_string(frames[i]);
  }
  if (frames.size() > kShown) text += fmt::format(" and {} more", frames.size() - kShown);
  return text;
}

}  // namespace

const char* to_string(ClipCacheState state) {
  switch (state) {
    case ClipCacheState::complete: return "complete";
    case ClipCacheState::partial: return "partial";
    case ClipCacheState::missing: return "missing";
    case ClipCacheState::stale: return "stale";
  }
  return "?";
}

std::string failure_reason_group(const std::string& error) {
  std::string group = error.substr(0, error.find(':'));
  if (group.size() > kReasonGroupLength) group = group.substr(0, kReasonGroupLength) + "...";
  return group.empty() ? "(no reason given)" : group;
}

int RiskCacheVerifyReport::count(ClipCacheState state) const {
  int n = 0;
  for (const auto& clip : clips) n += clip.state == state ? 1 : 0;
  return n;
}

bool RiskCacheVerifyReport::complete(double max_failed_fraction) const {
  if (count(ClipCacheState::complete) != static_cast<int>(clips.size())) return false;
  const int judged = frames_ok + frames_failed;
  return judged == 0 || frames_failed <= max_failed_fraction * judged;
}

std::vector<std::string> RiskCacheVerifyReport::lines() const {
  std::vector<std::string> out;
  out.push_back(fmt::format(
      "risk cache {}: {} clips: {} complete, {} partial, {} missing, {} stale; frames: {} expected, "
      "{} labelled, {} FAILED",
      cache_dir, clips.size(), count(ClipCacheState::complete), count(ClipCacheState::partial),
      count(ClipCacheState::missing), count(ClipCacheState::stale), frames_expected, frames_ok,
      frames_failed));
  for (const auto& clip : clips) {
    if (clip.state == ClipCacheState::complete) continue;
    out.push_back(fmt::format("  {} {} ({} of {} frames cached){}", to_string(clip.state), clip.clip,
                              clip.frames_cached, clip.frames_expected,
                              clip.why.empty() ? "" : ": " + clip.why));
  }
  for (const auto& [reason, frames] : failures_by_reason) {
    out.push_back(fmt::format("  FAILED frames, {}: {}", reason, frames));
  }
  return out;
}

RiskCacheVerifyReport verify_risk_cache(const RiskCacheBuilder& builder,
                                        const std::vector<ExpectedClip>& clips) {
  RiskCacheVerifyReport report;
  report.cache_dir = builder.options().output_dir;
  for (const auto& expected : clips) {
    ClipCacheStatus status;
    status.clip = expected.name;
    status.frames_expected = static_cast<int>(expected.frames.size());
    report.frames_expected += status.frames_expected;
    std::error_code ec;
    const std::string cache = builder.cache_path(expected.name);
    const std::string partial = builder.partial_path(expected.name);
    const bool has_cache = std::filesystem::exists(cache, ec);
    const std::string path = has_cache ? cache : partial;
    if (!has_cache && !std::filesystem::exists(partial, ec)) {
      report.clips.push_back(std::move(status));  // missing
      continue;
    }
    try {
      const RiskCacheFile file = RiskCacheFile::read(path);
      const std::string difference = settings_difference(file.header().settings, builder.settings());
      if (!difference.empty()) {
        status.state = ClipCacheState::stale;
        status.why = path + " was made with other settings: " + difference;
      } else {
        std::vector<int> absent;
        for (const int frame : expected.frames) {
          if (const CachedFrame* cached = file.find(frame)) {
            ++status.frames_cached;
            if (cached->status != JudgementStatus::ok) {
              ++status.frames_failed;
              ++report.failures_by_reason[failure_reason_group(cached->error)];
            }
          } else {
            absent.push_back(frame);
          }
        }
        report.frames_failed += status.frames_failed;
        report.frames_ok += status.frames_cached - status.frames_failed;
        const bool finished = has_cache && file.header().complete;
        status.state = finished && absent.empty() ? ClipCacheState::complete : ClipCacheState::partial;
        if (!absent.empty()) status.why = "frames " + frame_list(absent) + " not in " + path;
        if (!finished) status.why += (status.why.empty() ? "" : "; ") + path + " is unfinished";
      }
    } catch (const Error& e) {  // not a cache, truncated, another format version
      status.state = ClipCacheState::stale;
      status.why = e.what();
    }
    report.clips.push_back(std::move(status));
  }
  return report;
}

}  // namespace rsd::teacher
