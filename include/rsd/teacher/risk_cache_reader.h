// Training reads the risk cache through data::RiskTargetSource: RiskCacheReader opens every
// complete cache of a folder once (headers and frame tables only) and decodes a frame's map when
// asked. Given the settings the run expects (the composition layer derives them from the config:
// pipeline::risk_cache_settings_from), it also checks that every cache was made with them, so
// that a model never trains on maps of other teacher settings without being told.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rsd/data/risk_target_source.h"
#include "rsd/teacher/risk_cache.h"

namespace rsd::teacher {

/// What to do with a cache made with settings other than the expected ones, or recording none
/// (written before librsd recorded them): refuse it (rsd::DataError), log a warning and read it,
/// or not look.
enum class RiskCacheCheck { strict, warn, off };

struct RiskCacheReaderOptions {
  /// The settings every cache must have been made with (teacher::risk_cache_settings() of the
  /// run's build options and teacher); empty: not checked.
  SettingsMap expected_settings;
  RiskCacheCheck check = RiskCacheCheck::strict;
};

class RiskCacheReader : public data::RiskTargetSource {
 public:
  /// Opens every <clip>.rsdrisk in `folder` (partial files are skipped with a warning). Throws
  /// rsd::DataError naming the file when one is not a risk cache, has another format version or
  /// was built for another grid than `grid`, and naming the folder when it does not exist. With
  /// expected settings and check strict, also when a cache's settings differ from them or are
  /// unknown: the message names the file, both settings hashes and the differing settings.
  RiskCacheReader(const std::string& folder, GridSpec grid, RiskCacheReaderOptions options = {});

  const GridSpec& grid() const override { return grid_; }
  /// float (Y, X) in [0, 1]; undefined when the clip has no cache, the frame is not in it, or the
  /// teacher failed on it. Thread-safe.
  torch::Tensor risk_map(const std::string& clip, int frame) const override;

  /// The whole record of one frame (map, objects, reasons), or nullopt when absent.
  std::optional<CachedFrame> frame_record(const std::string& clip, int frame) const;

  std::vector<std::string> clips() const;
  /// The frames of `clip` that have a map (the teacher judged them): those risk_map() answers.
  std::vector<int> labelled_frames(const std::string& clip) const;
  /// The header of a clip's cache; throws rsd::DataError when the clip has none.
  const RiskCacheHeader& header(const std::string& clip) const;

  const std::string& folder() const { return folder_; }

 private:
  struct FrameEntry {
    JudgementStatus status = JudgementStatus::ok;
    uint64_t map_offset = 0, map_bytes = 0, record_offset = 0, record_bytes = 0;
  };
  struct ClipEntry {
    std::string path;
    RiskCacheHeader header;
    std::map<int, FrameEntry> frames;
  };
  const ClipEntry* find_clip(const std::string& clip) const;

  std::string folder_;
  GridSpec grid_;
  std::map<std::string, ClipEntry> clips_;
};

}  // namespace rsd::teacher
