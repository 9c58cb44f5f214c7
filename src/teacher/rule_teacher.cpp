#include "rsd/teacher/rule_teacher.h"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "rsd/eval/collision.h"
#include "rsd/util/error.h"

namespace rsd::teacher {
namespace {

// A component of the risk of one object, with its reason.
struct Finding {
  double score = 0.0;
  std::string reason;
};

void keep_larger(Finding& best, double score, const std::string& reason) {
  if (score > best.score) best = {score, reason};
}

template <typename... Args>
std::string format(const char* pattern, Args... args) {
  char text[200];
  std::snprintf(text, sizeof text, pattern, args...);
  return text;
}

Eigen::Vector2d rotate(const Eigen::Vector2d& v, double yaw) {
  const double c = std::cos(yaw);
  const double s = std::sin(yaw);
  return {c * v.x() - s * v.y(), s * v.x() + c * v.y()};
}

// How far the box's footprint reaches from its centre along each of the axes turned by `axes_yaw`
// (exact for a strip along those axes, such as the ego's corridor; not a test of overlap).
Eigen::Vector2d half_extents(const data::Box& box, double axes_yaw) {
  const double c = std::abs(std::cos(box.yaw - axes_yaw));
  const double s = std::abs(std::sin(box.yaw - axes_yaw));
  const double half_length = 0.5 * box.size.x();
  const double half_width = 0.5 * box.size.y();
  return {c * half_length + s * half_width, s * half_length + c * half_width};
}

// Where a point lies relative to the ego's path: the nearest point of the polyline, its arc length
// and heading, and the point in the frame of that nearest point (x along the path, y to its left).
struct PathPosition {
  double s = 0.0;
  double heading = 0.0;
  Eigen::Vector2d local = Eigen::Vector2d::Zero();
  bool before_start = false;  // behind the ego's current position
  bool beyond_end = false;    // ahead of the path's last point
};

PathPosition locate(const std::vector<EgoPathPoint>& path, const Eigen::Vector2d& point) {
  PathPosition best;
  double best_distance = 1e300;
  double s = 0.0;
  const auto consider = [&](const Eigen::Vector2d& at, double arc, double heading) {
    const double distance = (point - at).norm();
    if (distance < best_distance) {
      best_distance = distance;
      best.s = arc;
      best.heading = heading;
      best.local = rotate(point - at, -heading);
    }
  };
  consider({path[0].x, path[0].y}, 0.0, path[0].yaw);
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    const Eigen::Vector2d a(path[i].x, path[i].y);
    const Eigen::Vector2d b(path[i + 1].x, path[i + 1].y);
    const Eigen::Vector2d ab = b - a;
    const double length = ab.norm();
    if (length < 1e-6) continue;
    const double along = std::clamp((point - a).dot(ab) / (length * length), 0.0, 1.0);
    consider(a + along * ab, s + along * length, std::atan2(ab.y(), ab.x()));
    s += length;
  }
  best.before_start = best.s <= 0.0 && best.local.x() < 0.0;
  best.beyond_end = best.s >= s && best.local.x() > 0.0;
  if (best.beyond_end) best.s = s + best.local.x();
  return best;
}

const char* side_of(double lateral) { return lateral > 0.0 ? "left" : "right"; }

// A span of time, seconds from now.
struct Interval {
  double begin = 0.0;
  double end = 0.0;
};

// When an object at `lateral` from the path, moving across it at `lateral_speed` (non-zero), is
// within `half_corridor` of it: from now or from when it enters, until it leaves on the far side.
Interval corridor_stay(double lateral, double lateral_speed, double half_corridor) {
  const double first = (-half_corridor - lateral) / lateral_speed;
  const double second = (half_corridor - lateral) / lateral_speed;
  return {std::max(0.0, std::min(first, second)), std::max(0.0, std::max(first, second))};
}

// Seconds between two stays in the same place; 0 when they overlap. For the object's stay in the
// ego's corridor and the ego's passage, it is the predicted post-encroachment time.
double time_apart(const Interval& a, const Interval& b) {
  return std::max({0.0, b.begin - a.end, a.begin - b.end});
}

// Where the ego would be if it did not react: along the route of `path` (its recorded or
// extrapolated positions) at the constant speed `speed`, sampled at the path's times. The route is
// continued straight past its end to at least `min_length` metres and speed * horizon, so that a
// recorded future that stops (the expert braked for this very object) still reaches the object.
struct Route {
  std::vector<EgoPathPoint> shape;  // polyline (t unused), extended
  std::vector<EgoPathPoint> timed;  // poses at the path's times, constant speed along `shape`
};

Route no_reaction_route(const std::vector<EgoPathPoint>& path, double speed, double min_length) {
  Route route;
  std::vector<double> arc{0.0};
  route.shape.push_back(path.front());
  for (std::size_t i = 1; i < path.size(); ++i) {
    const EgoPathPoint& last = route.shape.back();
    const double length = std::hypot(path[i].x - last.x, path[i].y - last.y);
    if (length < 1e-3) continue;
    route.shape.push_back(path[i]);
    route.shape.back().yaw = std::atan2(path[i].y - last.y, path[i].x - last.x);
    arc.push_back(arc.back() + length);
  }
  const double horizon = path.back().t;
  const double needed = std::max(min_length, speed * horizon) + 1.0;
  if (arc.back() < needed) {
    EgoPathPoint end = route.shape.back();
    end.x += (needed - arc.back()) * std::cos(end.yaw);
    end.y += (needed - arc.back()) * std::sin(end.yaw);
    route.shape.push_back(end);
    arc.push_back(needed);
  }
  std::size_t segment = 0;
  for (const auto& sample : path) {
    const double s = speed * sample.t;
    while (segment + 2 < arc.size() && arc[segment + 1] < s) ++segment;
    const EgoPathPoint& a = route.shape[segment];
    const EgoPathPoint& b = route.shape[segment + 1];
    const double alpha = std::clamp((s - arc[segment]) / (arc[segment + 1] - arc[segment]), 0.0, 1.0);
    route.timed.push_back({sample.t, a.x + alpha * (b.x - a.x), a.y + alpha * (b.y - a.y), b.yaw});
  }
  route.timed.front().yaw = path.front().yaw;
  return route;
}

}  // namespace

RuleTeacher::RuleTeacher(RuleTeacherOptions options) : options_(options) {}

// A new option changes verdicts too: it must join the settings below (and this count).
static_assert(sizeof(RuleTeacherOptions) == 12 * sizeof(double),
              "every RuleTeacherOptions field must be recorded by rule_teacher_info()");

TeacherInfo rule_teacher_info(const RuleTeacherOptions& options) {
  TeacherInfo info{"rule", "rule-v2", "", {}, /*uses_ego_path=*/true};
  const auto set = [&info](const char* name, double value) {
    info.settings[std::string("teacher.rule.") + name] = setting_text(value);
  };
  set("ego_length", options.ego_length);
  set("ego_width", options.ego_width);
  set("lateral_margin_m", options.lateral_margin_m);
  set("ttc_critical_s", options.ttc_critical_s);
  set("path_sigma_m", options.path_sigma_m);
  set("path_range_m", options.path_range_m);
  set("crossing_speed_mps", options.crossing_speed_mps);
  set("cut_in_speed_mps", options.cut_in_speed_mps);
  set("conflict_time_scale_s", options.conflict_time_scale_s);
  set("min_ego_speed_mps", options.min_ego_speed_mps);
  set("stop_distance_m", options.stop_distance_m);
  set("lookahead_m", options.lookahead_m);
  return info;
}

TeacherInfo RuleTeacher::info() const { return rule_teacher_info(options_); }

ObjectRisk RuleTeacher::assess(const data::Box& box, const std::vector<EgoPathPoint>& ego_path,
                               double ego_speed) const {
  // Without a path: 4 s at the origin, one point per frame.
  constexpr double kFrameSeconds = 1.0 / data::kFrameRateHz;
  std::vector<EgoPathPoint> standing_still;
  for (int k = 0; ego_path.size() < 2 && k <= 40; ++k) {
    standing_still.push_back({kFrameSeconds * k, 0.0, 0.0, 0.0});
  }
  const Route route = no_reaction_route(ego_path.size() >= 2 ? ego_path : standing_still,
                                        std::max(ego_speed, 0.0), options_.lookahead_m);
  const double horizon = std::max(route.timed.back().t, 1e-3);
  const auto& o = options_;
  const std::string name = data::to_string(box.object_class);
  const Eigen::Vector2d center = box.center.head<2>();
  const double distance = center.norm();
  Finding finding{0.0, "no conflict with the ego path"};

  if (box.object_class == data::ObjectClass::traffic_light) {
    // Lights stand beside the road: only their state matters, never their footprint.
    if (!box.affects_ego) return {box.id, 0.0, "traffic light that does not apply to the ego"};
    const bool red = box.light_state == data::TrafficLightState::red;
    const bool yellow = box.light_state == data::TrafficLightState::yellow;
    if ((red || yellow) && center.x() > 0.0 && distance < o.stop_distance_m) {
      const double nearness = 0.5 + 0.5 * (1.0 - distance / o.stop_distance_m);
      keep_larger(finding, red ? nearness : 0.5 * nearness,
                  format(red ? "red light ahead at %.1f m applies to the ego"
                             : "yellow light ahead at %.1f m applies to the ego",
                         distance));
    } else if (!red && !yellow) {
      finding.reason = std::string(data::to_string(box.light_state)) + " light";
    }
    return {box.id, finding.score, finding.reason};
  }
  if (box.object_class == data::ObjectClass::traffic_sign &&
      box.type_id.find("stop") != std::string::npos && box.affects_ego && center.x() > 0.0 &&
      distance < o.stop_distance_m) {
    keep_larger(finding, 0.4 + 0.4 * (1.0 - distance / o.stop_distance_m),
                format("stop sign ahead at %.1f m applies to the ego", distance));
  }

  const Eigen::Vector2d velocity = box.is_static ? Eigen::Vector2d::Zero() : box.velocity;
  const double ego_half_length = 0.5 * o.ego_length;
  const double ego_half_width = 0.5 * o.ego_width;

  // Contact: the object's predicted footprint overlaps the ego's (widened by the margin) at the
  // same time. Both are rotated rectangles: bounds along the ego's axes would see contact where a
  // box turned against the ego's only passes its corner.
  const eval::Footprint object_now{center, box.size.x(), box.size.y(), box.yaw};
  for (const auto& pose : route.timed) {
    const eval::Footprint ego{{pose.x, pose.y}, o.ego_length, o.ego_width + 2.0 * o.lateral_margin_m,
                              pose.yaw};
    eval::Footprint object = object_now;
    object.center += velocity * pose.t;
    if (eval::footprints_overlap(ego, object)) {
      const double span = std::max(horizon - o.ttc_critical_s, 1e-3);
      const double score =
          pose.t <= o.ttc_critical_s ? 1.0 : 1.0 - 0.7 * (pose.t - o.ttc_critical_s) / span;
      keep_larger(finding, score,
                  format("%s on a collision course with the ego: contact in %.1f s, now %.1f m "
                         "away",
                         name.c_str(), pose.t, distance));
      break;
    }
  }

  const PathPosition where = locate(route.shape, center);
  if (where.before_start) return {box.id, finding.score, finding.reason};
  const Eigen::Vector2d half = half_extents(box, where.heading);
  const double lateral = where.local.y();
  const double half_corridor = ego_half_width + o.lateral_margin_m + half.y();
  const double gap = std::abs(lateral) - half_corridor;
  const Eigen::Vector2d path_velocity = rotate(velocity, -where.heading);  // x along, y across
  const double lateral_speed = path_velocity.y();
  const bool approaching = lateral * lateral_speed < 0.0;

  // Crossing pedestrians and cyclists, and vehicles moving into the path, before its end. What
  // matters is whether the ego gets there while the object is in its corridor: the object's stay
  // in the corridor against the ego's passage of the point where it enters, the risk falling as a
  // Gaussian of the time between them (a walker crossing 14 m ahead of an ego at 1 m/s is gone
  // long before the ego arrives).
  if (!where.beyond_end) {
    const bool vulnerable = box.object_class == data::ObjectClass::pedestrian ||
                            box.object_class == data::ObjectClass::cyclist;
    const double threshold = vulnerable ? o.crossing_speed_mps : o.cut_in_speed_mps;
    const bool moving_across = std::abs(lateral_speed) > threshold && (gap <= 0.0 || approaching);
    if (moving_across && (vulnerable || box.object_class == data::ObjectClass::vehicle)) {
      const Interval object_stay = corridor_stay(lateral, lateral_speed, half_corridor);
      if (object_stay.begin <= horizon) {
        // The ego's front reaches the object's near edge, then its rear clears the far edge; a
        // stopped ego is taken to move off at min_ego_speed_mps (its times stay finite).
        const double entry_s = where.s + path_velocity.x() * object_stay.begin;
        const double reach = ego_half_length + half.x();
        const double arrival_speed = std::max(ego_speed, o.min_ego_speed_mps);
        const Interval ego_passage{std::max(0.0, entry_s - reach) / arrival_speed,
                                   std::max(0.0, entry_s + reach) / arrival_speed};
        const double apart = time_apart(object_stay, ego_passage);
        const double timing = std::exp(-apart * apart / (2.0 * o.conflict_time_scale_s *
                                                         o.conflict_time_scale_s));
        const double conflict_time = std::max(object_stay.begin, ego_passage.begin);
        const double soon = std::max(0.0, 1.0 - conflict_time / horizon);
        const char* from = side_of(lateral);
        if (vulnerable) {
          keep_larger(finding, (0.6 + 0.4 * soon) * timing,
                      format("%s crossing the ego path from the %s: enters the ego's corridor "
                             "in %.1f s, %.1f m ahead; the ego arrives in %.1f s",
                             name.c_str(), from, object_stay.begin, entry_s, ego_passage.begin));
        } else if (gap > 0.0) {
          const bool aligned = std::cos(box.yaw - where.heading) > std::cos(M_PI / 4);
          keep_larger(finding, (0.5 + 0.5 * soon) * timing,
                      format("vehicle %s from the %s: enters the ego lane in %.1f s, %.1f m "
                             "ahead; the ego arrives in %.1f s",
                             aligned ? "cutting in" : "crossing into the ego path", from,
                             object_stay.begin, entry_s, ego_passage.begin));
        }
      }
    }
  }

  // Proximity: anything close to the path ahead deserves some attention.
  const double lateral_gap = std::max(0.0, std::abs(lateral) - ego_half_width - half.y());
  const double proximity = 0.5 * std::exp(-lateral_gap * lateral_gap /
                                          (2.0 * o.path_sigma_m * o.path_sigma_m)) *
                           std::exp(-std::max(where.s, 0.0) / o.path_range_m);
  keep_larger(finding, proximity,
              lateral_gap > 0.0
                  ? format("%s %.1f m beside the ego path, %.1f m ahead", name.c_str(),
                           lateral_gap, where.s)
                  : format("%s in the ego path %.1f m ahead", name.c_str(), where.s));
  return {box.id, std::clamp(finding.score, 0.0, 1.0), finding.reason};
}

std::vector<FrameJudgement> RuleTeacher::judge(const std::vector<FrameContext>& frames) {
  std::vector<FrameJudgement> judgements;
  judgements.reserve(frames.size());
  for (const auto& context : frames) {
    FrameJudgement judgement;
    judgement.clip = context.frame.clip;
    judgement.frame = context.frame.index;
    // The annotated ego box, when the frame has one, beats the configured default size.
    RuleTeacherOptions options = options_;
    if (context.frame.ego_size.x() > 0.0 && context.frame.ego_size.y() > 0.0) {
      options.ego_length = context.frame.ego_size.x();
      options.ego_width = context.frame.ego_size.y();
    }
    const RuleTeacher sized(options);
    for (const auto& box : context.frame.boxes) {
      judgement.objects.push_back(sized.assess(box, context.ego_path, context.frame.ego.speed));
    }
    judgements.push_back(std::move(judgement));
  }
  return judgements;
}

}  // namespace rsd::teacher
