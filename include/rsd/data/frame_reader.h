// Reads one frame's annotation (anno/NNNNN.json.gz) into a Frame in our right-handed frames.
#pragma once

#include <string>
#include <vector>

#include "rsd/data/clip_index.h"
#include "rsd/data/frame.h"

namespace rsd::data {

/// Bench2Drive's six cameras, in nuScenes order.
std::vector<std::string> default_camera_names();

class FrameReader {
 public:
  explicit FrameReader(std::vector<std::string> cameras = default_camera_names());

  /// Reads frame `frame` of `clip`. Throws rsd::DataError naming the file (and key) when the
  /// annotation is missing, truncated or malformed.
  Frame read(const ClipInfo& clip, int frame) const;

  const std::vector<std::string>& cameras() const { return cameras_; }

 private:
  std::vector<std::string> cameras_;
};

}  // namespace rsd::data
