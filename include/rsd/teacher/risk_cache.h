// The risk cache: one file per clip, <teacher.output>/<clip>.rsdrisk, holding a header (format
// version, GridSpec, teacher type and model, prompt hash, the settings its maps were made with and
// their hash, creation time), then per frame the BEV
// risk map (float16, zlib-compressed) and the per-object records (ids, classes, boxes, scores,
// reasons, unmatched objects, failures) for provenance. The byte layout is in docs/teachers.md.
// Files are written atomically (rsd::write_file_atomic): readers see the old file or the new one.
// A clip being built lives in <clip>.rsdrisk.partial, a valid cache file with complete = false.
#pragma once

#include <torch/types.h>

#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/geometry/grid_spec.h"
#include "rsd/teacher/risk_teacher.h"

namespace rsd::teacher {

/// Bumped whenever the byte layout changes; a file of another version is refused when read.
constexpr uint32_t kRiskCacheFormatVersion = 1;
constexpr const char* kRiskCacheExtension = ".rsdrisk";
constexpr const char* kRiskCachePartialExtension = ".rsdrisk.partial";

struct RiskCacheHeader {
  explicit RiskCacheHeader(GridSpec grid_) : grid(std::move(grid_)) {}

  uint32_t format_version = kRiskCacheFormatVersion;
  bool complete = false;      // false: a partial file of a clip still being built
  GridSpec grid;
  std::string clip;
  TeacherInfo teacher;         // settings and uses_ego_path are not stored: see `settings`
  /// Every setting the maps depend on (teacher::risk_cache_settings(): teacher, rasteriser, ego
  /// path, grid). Empty in caches written before librsd recorded them: their settings are
  /// unknown, and such a cache counts as stale.
  SettingsMap settings;
  std::string created;        // UTC, ISO 8601 ("2025-01-31T12:00:00Z")
  std::string librsd_version;
};

/// 16 hex digits: the 64-bit FNV-1a of `settings` as compact JSON (one object, keys sorted); ""
/// for no settings (unknown). Stored in the header next to the settings.
std::string settings_hash(const SettingsMap& settings);

/// How the settings a cache was made with (`cached`) differ from `expected`: "" when they are
/// equal, otherwise a one-line account naming both hashes, the differing setting groups and the
/// first differing settings with both values ("teacher.rule.ttc_critical_s: 1 in the cache, 2
/// now"), or saying that the cache records no settings.
std::string settings_difference(const SettingsMap& cached, const SettingsMap& expected);

/// One judged object as recorded: the teacher's verdict plus the box it was about.
struct CachedObject {
  ObjectRisk risk;
  data::ObjectClass object_class = data::ObjectClass::vehicle;
  Eigen::Vector3d center = Eigen::Vector3d::Zero();  // ego frame of the frame, metres
  Eigen::Vector3d size = Eigen::Vector3d::Zero();    // length, width, height
  double yaw = 0.0;
};

struct CachedFrame {
  int frame = 0;
  JudgementStatus status = JudgementStatus::ok;
  torch::Tensor map;                       // float (Y, X) in [0, 1]; undefined when failed
  std::vector<CachedObject> objects;
  std::vector<UnmatchedObject> unmatched;
  std::string error;                       // failed: why
  int attempts = 1;
  std::string answer_excerpt;
};

class RiskCacheFile {
 public:
  explicit RiskCacheFile(RiskCacheHeader header) : header_(std::move(header)) {}

  /// Reads a whole cache file. Throws rsd::DataError naming the file when it is not a risk cache,
  /// is truncated, has another format version, or (with expected_grid) was built for another grid.
  static RiskCacheFile read(const std::string& path, const GridSpec* expected_grid = nullptr);
  /// The header alone (cheap); same errors as read() minus the grid check.
  static RiskCacheHeader read_header(const std::string& path);

  const RiskCacheHeader& header() const { return header_; }
  RiskCacheHeader& header() { return header_; }
  /// Frames in ascending frame order.
  const std::vector<CachedFrame>& frames() const { return frames_; }
  /// The frame numbered `frame`, or nullptr.
  const CachedFrame* find(int frame) const;

  /// Adds a frame (kept in frame order); a frame already present is replaced. Its map must be
  /// float (grid.ny(), grid.nx()) unless it failed.
  void add(CachedFrame frame);

  /// The file's bytes.
  std::string serialize() const;
  /// serialize() written atomically to `path`.
  void write(const std::string& path) const;

 private:
  RiskCacheHeader header_;
  std::vector<CachedFrame> frames_;
};

}  // namespace rsd::teacher
