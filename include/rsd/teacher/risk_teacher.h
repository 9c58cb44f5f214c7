// The risk teacher: judges, per frame, how much each annotated object threatens the ego, with a
// short causal reason. Teachers (rule, vlm, jsonl, or your own) sit behind one interface and are
// picked by `teacher.type` through rsd/pipeline/teacher_factory.h.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/teacher/ego_path.h"

namespace rsd::teacher {

/// The judged risk of one annotated object in one frame.
struct ObjectRisk {
  std::string object_id;  // data::Box::id of the annotated object
  double score = 0.0;     // [0, 1]: 1 = the ego must react to it now, 0 = irrelevant
  std::string reason;     // short causal reason ("pedestrian crossing the ego path in 1.4 s")
};

/// An object the teacher named that could not be tied to an annotated box (a 2D box without a
/// matching projected 3D box, or an id the frame does not have). Kept for the report.
struct UnmatchedObject {
  std::string description;  // "box [x1, y1, x2, y2] in CAM_FRONT" or "id 42"
  double score = 0.0;
  std::string reason;       // the teacher's reason for its score
  std::string why;          // why it was not matched ("best IoU 0.12 < 0.30")
};

enum class JudgementStatus { ok = 0, failed = 1 };
const char* to_string(JudgementStatus status);

/// The teacher's verdict on one frame. A failed frame carries no scores and never becomes a map of
/// zeros: the cache records it as failed and training masks it out.
struct FrameJudgement {
  std::string clip;
  int frame = 0;
  JudgementStatus status = JudgementStatus::ok;
  std::vector<ObjectRisk> objects;         // ok: one entry per judged object
  std::vector<UnmatchedObject> unmatched;  // named objects left without an annotated box
  std::string error;                       // failed: why, after every attempt
  int attempts = 1;                        // requests made (vlm), 1 for the other teachers
  std::string answer_excerpt;              // failed vlm frames: the start of the last answer

  bool ok() const { return status == JudgementStatus::ok; }
  static FrameJudgement failure(const std::string& clip, int frame, std::string error);
};

/// Settings by name (the config key they come from, "teacher.rule.ttc_critical_s"), each value as
/// canonical text (setting_text() for numbers): what a risk cache records of how its maps were made.
using SettingsMap = std::map<std::string, std::string>;

/// A number as a setting's text: the shortest decimal that reads back as the same double ("0.5",
/// "0.1"), so that equal settings always give equal text.
std::string setting_text(double value);

/// Who judged: written into every cache header so that caches of different teachers never mix.
struct TeacherInfo {
  std::string type;         // "rule", "vlm", "jsonl", ...
  std::string model;        // "rule-v1", the served model name, the imported file's model
  std::string prompt_hash;  // 16 hex digits of the prompt text (vlm); empty otherwise
  /// Every setting of the teacher that changes its verdicts (the rule teacher's thresholds, the
  /// VLM's temperature and cameras, ...), part of the cache's identity: a cache made with other
  /// values is stale. Settings that only change how verdicts are obtained (endpoint, timeouts,
  /// concurrency) stay out.
  SettingsMap settings = {};
  /// Whether the verdicts depend on FrameContext::ego_path (and so on teacher.ego_path.*); false
  /// keeps those settings out of the cache's identity.
  bool uses_ego_path = true;
};

/// What a teacher sees of one frame: the annotated frame (ego frame, boxes, cameras) and the ego's
/// future path in that frame's ego frame.
struct FrameContext {
  data::Frame frame;
  std::vector<EgoPathPoint> ego_path;  // t = 0 first; see ego_path.h for where it comes from
};

class RiskTeacher {
 public:
  virtual ~RiskTeacher();

  virtual TeacherInfo info() const = 0;

  /// Judges `frames` (usually consecutive frames of one clip) and returns one judgement per frame,
  /// in the same order. A frame the teacher cannot judge is returned with status failed and the
  /// reason; a fault that would fail every frame alike (the endpoint refuses the API key, the
  /// model does not exist) throws rsd::Error instead, so that a run stops early with one message.
  virtual std::vector<FrameJudgement> judge(const std::vector<FrameContext>& frames) = 0;
};

}  // namespace rsd::teacher
