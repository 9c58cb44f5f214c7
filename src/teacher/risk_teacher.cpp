#include "rsd/teacher/risk_teacher.h"

namespace rsd::teacher {

// Out of line so that the vtable lives in librsd.
RiskTeacher::~RiskTeacher() = default;

const char* to_string(JudgementStatus status) {
  switch (status) {
    case JudgementStatus::ok: return "ok";
    case JudgementStatus::failed: return "failed";
  }
  return "unknown";
}

FrameJudgement FrameJudgement::failure(const std::string& clip, int frame, std::string error) {
  FrameJudgement judgement;
  judgement.clip = clip;
  judgement.frame = frame;
  judgement.status = JudgementStatus::failed;
  judgement.error = std::move(error);
  return judgement;
}

}  // namespace rsd::teacher
