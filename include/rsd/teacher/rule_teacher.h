// The rule teacher (teacher.type: rule, the default): causal risk from the annotations alone, no
// VLM needed. The ego's route is the shape of its future path (ego_path.h: where it really drove),
// continued straight to at least lookahead_m; the ego is placed on it at its CURRENT speed (time to
// collision assumes no reaction: the recorded future would brake for the very object that is
// risky). Objects move at constant velocity. For each object it scores
//   contact     the first time the object's footprint overlaps the ego's (widened by a lateral
//               margin each side; both oriented rectangles) along the path: 1 at or below
//               ttc_critical_s, falling linearly to 0.3 at the horizon;
//   crossing    pedestrians and cyclists moving across the path toward it: 0.6 .. 1 by how soon
//               the conflict is, times the timing below;
//   cut-in      vehicles beside the path moving laterally into it: 0.5 .. 1 by how soon, times the
//               timing;
//   timing      exp(-gap^2 / 2 conflict_time_scale_s^2), gap = seconds between the object's stay
//               in the ego's corridor and the ego's passage of the point where it enters (0 when
//               they overlap; the predicted post-encroachment time), the ego at its current speed
//               but at least min_ego_speed_mps;
//   proximity   anything close to the path ahead: up to 0.5, Gaussian in the lateral gap, decaying
//               with the distance along the path;
//   red lights and stop signs ahead that apply to the ego (affects_ego): 0.5 .. 1 (stop signs
//               0.4 .. 0.8, yellow lights half of red) by how near they are.
// The score is the largest of these and the reason is the one of the largest.
#pragma once

#include <vector>

#include "rsd/data/frame.h"
#include "rsd/teacher/risk_teacher.h"

namespace rsd::teacher {

struct RuleTeacherOptions {
  double ego_length = data::kEgoLength;  // m; judge() uses the frame's annotated ego box
  double ego_width = data::kEgoWidth;    // m   (Frame::ego_size) when it has one
  double lateral_margin_m = 0.5;      // added on each side of the ego's footprint
  double ttc_critical_s = 1.0;        // contact sooner than this scores 1
  double path_sigma_m = 2.0;          // proximity: Gaussian width over the lateral gap
  double path_range_m = 40.0;         // proximity: decay length along the path
  double crossing_speed_mps = 0.5;    // lateral speed toward the path that counts as crossing
  double cut_in_speed_mps = 0.5;      // lateral speed toward the path that counts as a cut-in
  double conflict_time_scale_s = 1.5; // crossing/cut-in: Gaussian width over the time gap
  double min_ego_speed_mps = 1.0;     // arrival times: a slower (stopped) ego moves off at this
  double stop_distance_m = 30.0;      // red lights and stop signs nearer than this ahead
  double lookahead_m = 15.0;          // the route reaches at least this far (even standing still)
};

/// The rule teacher's identity ("rule", "rule-v2") with every option as teacher.rule.<name>.
TeacherInfo rule_teacher_info(const RuleTeacherOptions& options);

class RuleTeacher : public RiskTeacher {
 public:
  explicit RuleTeacher(RuleTeacherOptions options = {});

  TeacherInfo info() const override;
  std::vector<FrameJudgement> judge(const std::vector<FrameContext>& frames) override;

  /// The risk of one object given the ego's future path (t = 0 first, horizon = its last time)
  /// and current speed (m/s).
  ObjectRisk assess(const data::Box& box, const std::vector<EgoPathPoint>& ego_path,
                    double ego_speed) const;

  const RuleTeacherOptions& options() const { return options_; }

 private:
  RuleTeacherOptions options_;
};

}  // namespace rsd::teacher
