// Ties objects given as 2D image boxes (by a VLM or imported answers) to the frame's annotated 3D
// boxes: every annotated box is projected into the same camera, then pairs are chosen greedily,
// best first, each annotated box used at most once.
#pragma once

#include <string>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/teacher/camera_projection.h"
#include "rsd/teacher/risk_teacher.h"

namespace rsd::teacher {

enum class MatchMethod { iou, center };

struct MatchOptions {
  MatchMethod method = MatchMethod::iou;
  double iou_threshold = 0.3;          // iou: a pair needs at least this IoU
  double center_threshold_px = 40.0;   // center: a pair needs centres at most this far apart
};

/// The options as teacher.match.<name> settings (TeacherInfo::settings of the teachers that match).
SettingsMap match_settings(const MatchOptions& options);

/// The result for one query box.
struct BoxMatch {
  int box_index = -1;     // index into the frame's boxes; -1 when unmatched
  double quality = 0.0;   // IoU, or centre distance in pixels
  std::string why;        // unmatched: why ("best IoU 0.12 < 0.30", "no annotated box visible")
};

/// One BoxMatch per query, in query order.
std::vector<BoxMatch> match_boxes(const std::vector<Box2D>& queries,
                                  const std::vector<data::Box>& boxes, const data::Camera& camera,
                                  const MatchOptions& options);

}  // namespace rsd::teacher
