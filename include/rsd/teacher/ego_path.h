// The ego's future path over a short horizon, expressed in the ego frame of the current frame. The
// rule teacher measures time to collision and distance to this path.
//
// Source: the ego's recorded poses in the FOLLOWING frames of the clip (Bench2Drive records the
// expert's actual drive, so this is where the ego really went), interpolated to the sampling step.
// Where the clip ends before the horizon, the path is continued from the last recorded pose with
// that frame's speed and yaw rate (constant speed and turn rate); with source = extrapolate the
// whole path comes from the current frame's speed and yaw rate.
#pragma once

#include <cstddef>
#include <vector>

#include "rsd/data/frame.h"

namespace rsd::teacher {

/// One pose of the ego at time t (s, from the current frame) in the current ego frame.
struct EgoPathPoint {
  double t = 0.0;
  double x = 0.0;    // metres, forward
  double y = 0.0;    // metres, left
  double yaw = 0.0;  // radians, counter-clockwise
};

enum class EgoPathSource { frames, extrapolate };

struct EgoPathOptions {
  EgoPathSource source = EgoPathSource::frames;
  double horizon_s = 4.0;      // how far ahead
  double step_s = 1.0 / data::kFrameRateHz;    // sampling step: one frame
  double frame_rate_hz = data::kFrameRateHz;   // frame numbers -> seconds
};

/// The path of frames[index] (frames of one clip in ascending frame order), from t = 0 (the
/// origin, yaw 0) to horizon_s in steps of step_s.
std::vector<EgoPathPoint> ego_path(const std::vector<data::Frame>& frames, std::size_t index,
                                   const EgoPathOptions& options);

/// Constant speed and yaw rate from `start` for `duration_s`, sampled every `step_s`, times
/// continuing from start.t. The first point returned is the one after `start`.
std::vector<EgoPathPoint> extrapolate_ego_path(const EgoPathPoint& start, double speed,
                                               double yaw_rate, double duration_s, double step_s);

}  // namespace rsd::teacher
