// Training reads the risk cache through data::RiskTargetSource: RiskCacheReader opens every
// complete cache of a folder once (headers and frame tables only) and decodes a frame's map when
// asked.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rsd/data/risk_target_source.h"
#include "rsd/teacher/risk_cache.h"

namespace rsd::teacher {

class RiskCacheReader : public data::RiskTargetSource {
 public:
  /// Opens every <clip>.rsdrisk in `folder` (partial files are skipped with a warning). Throws
  /// rsd::DataError naming the file when one is not a risk cache, has another format version or
  /// was built for another grid than `grid`, and naming the folder when it does not exist.
  RiskCacheReader(const std::string& folder, GridSpec grid);

  const GridSpec& grid() const override { return grid_; }
  /// float (Y, X) in [0, 1]; undefined when the clip has no cache, the frame is not in it, or the
  /// teacher failed on it. Thread-safe.
  torch::Tensor risk_map(const std::string& clip, int frame) const override;

  /// The whole record of one frame (map, objects, reasons), or nullopt when absent.
  std::optional<CachedFrame> frame_record(const std::string& clip, int frame) const;

  std::vector<std::string> clips() const;
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
