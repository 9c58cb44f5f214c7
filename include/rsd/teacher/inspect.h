// Pictures of cached frames, to check what the teacher said (`rsd_cache_risk inspect`):
//   <clip>_<frame>_bev.png    the BEV risk map (ego forward = up, left = left), each judged
//                             object's footprint coloured by score with "id score" labels
//   <clip>_<frame>_front.png  the front camera image with the judged objects' projected boxes and
//                             scores (when the dataset is at hand)
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/teacher/risk_cache.h"

namespace rsd::teacher {

struct InspectRequest {
  std::string clip;
  int frame = 0;
};

/// "CLIP:FRAME" -> request; throws rsd::ConfigError on another shape.
InspectRequest parse_inspect_request(const std::string& text);

/// Renders the BEV picture of one cached frame to a PNG (scale: pixels per grid cell).
void render_bev_png(const CachedFrame& frame, const GridSpec& grid, const std::string& path,
                    int scale = 4);

/// Renders `camera`'s image of `frame` with the cached frame's judged objects to a PNG.
void render_camera_png(const CachedFrame& cached, const data::Frame& frame,
                       const std::string& camera, const std::string& path);

struct InspectOptions {
  explicit InspectOptions(GridSpec grid_) : grid(std::move(grid_)) {}

  GridSpec grid;                     // the grid the caches were built for
  std::string cache_dir;             // folder of <clip>.rsdrisk files
  std::string data_root;             // clip folders for the camera pictures; empty: none
  std::vector<std::string> cameras;  // the cameras read; CAM_FRONT is drawn when among them
};

/// For each request: reads cache_dir/<clip>.rsdrisk (or its .partial) and, when data_root has the
/// clip, the frame's annotation and front image; writes the PNGs into out_dir. Returns the written
/// paths.
std::vector<std::string> render_risk_inspection(const InspectOptions& options,
                                                const std::vector<InspectRequest>& requests,
                                                const std::string& out_dir);

}  // namespace rsd::teacher
