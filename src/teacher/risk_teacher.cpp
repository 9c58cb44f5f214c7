#include "rsd/teacher/risk_teacher.h"

#include <cstdio>
#include <cstdlib>

namespace rsd::teacher {

// Out of line so that the vtable lives in librsd.
RiskTeacher::~RiskTeacher() = default;

std::string setting_text(double value) {
  char text[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(text, sizeof text, "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

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
