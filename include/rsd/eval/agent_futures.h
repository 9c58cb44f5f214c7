// The annotated futures of a frame's other agents: each object of frame t found again, by its
// CARLA id, in the annotations of frames t + step_frames * (k + 1), k < steps, and expressed in
// frame t's ego frame. The planning collision metric (stp3_collision.h) judges a trajectory
// against where the agents really went, as Bench2DriveZoo's get_box_attr_labels gives them.
//
//   AgentFutureReader futures({"data/bench2drive", 6, 5});
//   for (const AgentFuture& agent : futures.read(clip, frame)) ... agent.later[k] ...
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rsd/data/frame.h"

namespace rsd::eval {

struct AgentFutureOptions {
  std::string root;          // the folder of clip folders (data.root)
  int64_t steps = 6;         // future steps T (data.waypoints.future_steps)
  int64_t step_frames = 5;   // frames between steps (data.waypoints.step_frames)
  /// Parsed annotations kept: consecutive frames share most of their later frames, so frames in
  /// order are each read once.
  int64_t cached_frames = 64;
};

/// One object of the current frame (the ego excluded) and its boxes later on.
struct AgentFuture {
  data::Box now;  // as annotated in the current frame, its ego frame
  /// T entries: the object's box in frame t + step_frames * (k + 1), moved into the current ego
  /// frame (centre, heading and velocity; size as annotated then); nullopt where that frame is
  /// not in the clip or the object is not annotated in it.
  std::vector<std::optional<data::Box>> later;
};

class AgentFutureReader {
 public:
  /// Throws rsd::ConfigError for steps < 0, step_frames < 1 or cached_frames < 1.
  explicit AgentFutureReader(AgentFutureOptions options);
  ~AgentFutureReader();
  AgentFutureReader(const AgentFutureReader&) = delete;
  AgentFutureReader& operator=(const AgentFutureReader&) = delete;

  /// The objects of frame `frame` of the clip folder `clip` under the root that have an id, in
  /// annotation order, with their later boxes. Throws rsd::DataError naming the file when an
  /// annotation cannot be read (the current frame's included). Thread-safe.
  std::vector<AgentFuture> read(const std::string& clip, int64_t frame) const;

  const AgentFutureOptions& options() const { return options_; }

 private:
  struct Cache;
  AgentFutureOptions options_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace rsd::eval
