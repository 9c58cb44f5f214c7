// The jsonl teacher (teacher.type: jsonl): imports risk answers produced elsewhere (another VLM
// pipeline, human labels). One JSON object per line and frame:
//   {"clip": "<clip folder>", "frame": 12, "model": "optional label",
//    "objects": [{"id": "2151", "score": 0.8, "reason": "..."},
//                {"box": [x1, y1, x2, y2], "camera": "CAM_FRONT", "score": 0.4, "reason": "..."}]}
// Objects named by id must be annotated boxes of that frame; objects named by a 2D box (pixels of
// the stored image of `camera`, default default_camera) are matched to the projected annotated
// boxes (matcher.h). Unknown ids and unmatched boxes are reported, not fatal. A frame without a
// line, or whose line has an invalid object (score outside [0, 1], neither id nor box), is FAILED.
// A line that is not JSON or lacks clip/frame makes the import fail (rsd::DataError naming
// file:line).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rsd/teacher/matcher.h"
#include "rsd/teacher/risk_teacher.h"

namespace rsd::teacher {

struct JsonlTeacherOptions {
  std::string path;                          // the answers file
  std::string default_camera = "CAM_FRONT";  // for box objects without "camera"
  std::string model;                         // provenance label; empty: the file name
  MatchOptions match;
};

/// The jsonl teacher's identity (model: options.model, or the file's name) and the settings that
/// change its verdicts: teacher.jsonl.camera and teacher.match.*. The file's content is not part
/// of it: answers regenerated under the same name need another teacher.jsonl.model.
TeacherInfo jsonl_teacher_info(const JsonlTeacherOptions& options);

class JsonlTeacher : public RiskTeacher {
 public:
  /// Reads and indexes the whole file. Throws rsd::DataError naming file:line on a malformed line
  /// or a (clip, frame) given twice.
  explicit JsonlTeacher(JsonlTeacherOptions options);

  TeacherInfo info() const override;
  std::vector<FrameJudgement> judge(const std::vector<FrameContext>& frames) override;

  std::size_t size() const { return answers_.size(); }

 private:
  struct Answer {
    int line = 0;
    std::string json;  // the line, parsed again when its frame is judged
  };
  JsonlTeacherOptions options_;
  std::map<std::pair<std::string, int>, Answer> answers_;
};

}  // namespace rsd::teacher
