#include "data/synth/path.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rsd::data::synth {

Path::Path(const Eigen::Vector2d& start, double yaw) : end_(start), end_yaw_(yaw) {
  samples_.push_back(start);
}

Path::Pose Path::evaluate(const Piece& piece, double ds) const {
  Pose pose;
  pose.curvature = piece.curvature;
  pose.yaw = piece.yaw0 + piece.curvature * ds;
  if (std::abs(piece.curvature) < 1e-12) {
    pose.position = piece.start + ds * Eigen::Vector2d(std::cos(piece.yaw0), std::sin(piece.yaw0));
  } else {
    const double k = piece.curvature;
    pose.position = piece.start + Eigen::Vector2d((std::sin(pose.yaw) - std::sin(piece.yaw0)) / k,
                                                  (std::cos(piece.yaw0) - std::cos(pose.yaw)) / k);
  }
  return pose;
}

Path& Path::straight(double length) {
  if (length <= 0.0) return *this;
  Piece piece{length_, length, 0.0, end_yaw_, end_};
  pieces_.push_back(piece);
  const Pose end = evaluate(piece, length);
  end_ = end.position;
  length_ += length;
  resample();
  return *this;
}

Path& Path::arc(double radius, double angle) {
  if (radius <= 0.0 || angle == 0.0) return *this;
  const double length = radius * std::abs(angle);
  Piece piece{length_, length, (angle > 0 ? 1.0 : -1.0) / radius, end_yaw_, end_};
  pieces_.push_back(piece);
  const Pose end = evaluate(piece, length);
  end_ = end.position;
  end_yaw_ = end.yaw;
  length_ += length;
  resample();
  return *this;
}

Path& Path::line_to(const Eigen::Vector2d& point) {
  const Eigen::Vector2d delta = point - end_;
  if (delta.norm() < 1e-9) return *this;
  end_yaw_ = std::atan2(delta.y(), delta.x());
  return straight(delta.norm());
}

void Path::resample() {
  const std::size_t count = static_cast<std::size_t>(std::floor(length_ / kStep)) + 1;
  for (std::size_t i = samples_.size(); i < count; ++i) samples_.push_back(at(static_cast<double>(i) * kStep).position);
}

Path::Pose Path::at(double s) const {
  if (pieces_.empty()) {
    Pose pose;
    pose.position = end_ + s * Eigen::Vector2d(std::cos(end_yaw_), std::sin(end_yaw_));
    pose.yaw = end_yaw_;
    return pose;
  }
  if (s <= 0.0) {
    const Piece& first = pieces_.front();
    Pose pose;
    pose.position = first.start + s * Eigen::Vector2d(std::cos(first.yaw0), std::sin(first.yaw0));
    pose.yaw = first.yaw0;
    return pose;
  }
  if (s >= length_) {
    Pose pose;
    pose.position = end_ + (s - length_) * Eigen::Vector2d(std::cos(end_yaw_), std::sin(end_yaw_));
    pose.yaw = end_yaw_;
    return pose;
  }
  const auto it = std::upper_bound(pieces_.begin(), pieces_.end(), s,
                                   [](double value, const Piece& piece) { return value < piece.s0; });
  const Piece& piece = *(it - 1);
  return evaluate(piece, s - piece.s0);
}

bool Path::project(const Eigen::Vector2d& point, double s_from, double s_to, double* s,
                   double* lateral) const {
  s_from = std::max(s_from, 0.0);
  s_to = std::min(s_to, length_);
  if (s_to < s_from || samples_.empty()) return false;
  const std::size_t first = static_cast<std::size_t>(std::floor(s_from / kStep));
  const std::size_t last = std::min(samples_.size() - 1, static_cast<std::size_t>(std::ceil(s_to / kStep)));
  double best = std::numeric_limits<double>::max();
  std::size_t best_index = first;
  for (std::size_t i = first; i <= last; ++i) {
    const double d = (samples_[i] - point).squaredNorm();
    if (d < best) {
      best = d;
      best_index = i;
    }
  }
  // Refine on the pose's tangent: exact on straight pieces, within millimetres on the arcs used.
  const double s_sample = static_cast<double>(best_index) * kStep;
  const Pose pose = at(s_sample);
  const Eigen::Vector2d tangent(std::cos(pose.yaw), std::sin(pose.yaw));
  const Eigen::Vector2d normal(-tangent.y(), tangent.x());
  const Eigen::Vector2d delta = point - pose.position;
  const double along = delta.dot(tangent);
  // Nearest to an end of the range but beyond it: the point is not alongside this range.
  if (s_sample + along < s_from - kStep || s_sample + along > s_to + kStep) return false;
  *s = std::clamp(s_sample + std::clamp(along, -kStep, kStep), s_from, s_to);
  *lateral = delta.dot(normal);
  return true;
}

void LateralProfile::change(double s0, double length, double target) {
  changes_.push_back({s0, std::max(length, 1.0), this->target(), target});
}

const LateralProfile::Change* LateralProfile::active(double s) const {
  const Change* current = nullptr;
  for (const Change& change : changes_) {
    if (s >= change.s0) current = &change;
  }
  return current;
}

double LateralProfile::at(double s) const {
  const Change* change = active(s);
  if (change == nullptr) return initial_;
  const double u = std::clamp((s - change->s0) / change->length, 0.0, 1.0);
  const double f = u * u * u * (10.0 - 15.0 * u + 6.0 * u * u);
  return change->from + (change->to - change->from) * f;
}

double LateralProfile::slope(double s) const {
  const Change* change = active(s);
  if (change == nullptr) return 0.0;
  const double u = (s - change->s0) / change->length;
  if (u <= 0.0 || u >= 1.0) return 0.0;
  const double df = 30.0 * u * u * (1.0 - u) * (1.0 - u) / change->length;
  return (change->to - change->from) * df;
}

double LateralProfile::second(double s) const {
  const Change* change = active(s);
  if (change == nullptr) return 0.0;
  const double u = (s - change->s0) / change->length;
  if (u <= 0.0 || u >= 1.0) return 0.0;
  const double d2f = (60.0 * u - 180.0 * u * u + 120.0 * u * u * u) / (change->length * change->length);
  return (change->to - change->from) * d2f;
}

int LateralProfile::changing_direction(double s) const {
  const Change* change = active(s);
  if (change == nullptr || s >= change->s0 + change->length || change->to == change->from) return 0;
  return change->to > change->from ? 1 : -1;
}

}  // namespace rsd::data::synth
