#include "rsd/eval/agent_futures.h"

#include <Eigen/Geometry>
#include <Eigen/LU>

#include <climits>
#include <cmath>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "rsd/data/clip_index.h"
#include "rsd/data/frame_reader.h"
#include "rsd/util/error.h"

namespace rsd::eval {
namespace {

using rsd::detail::concat;

// What the futures need of one annotation file.
struct ParsedFrame {
  Eigen::Matrix4d ego2world = Eigen::Matrix4d::Identity();
  std::vector<data::Box> boxes;
};

// `box` (in some frame's ego frame) seen from another ego frame: `transform` maps the first into
// the second.
data::Box moved(const data::Box& box, const Eigen::Matrix4d& transform) {
  data::Box out = box;
  out.center = (transform * box.center.homogeneous()).head<3>();
  const Eigen::Matrix3d rotation = transform.topLeftCorner<3, 3>();
  const Eigen::Vector3d heading =
      rotation * Eigen::Vector3d(std::cos(box.yaw), std::sin(box.yaw), 0.0);
  out.yaw = std::atan2(heading.y(), heading.x());
  out.velocity = (rotation * Eigen::Vector3d(box.velocity.x(), box.velocity.y(), 0.0)).head<2>();
  return out;
}

int frame_number(int64_t frame, const std::string& clip) {
  if (frame < 0 || frame > INT_MAX) {
    throw DataError(concat("clip ", clip, ": frame number ", frame, " out of range"));
  }
  return static_cast<int>(frame);
}

}  // namespace

struct AgentFutureReader::Cache {
  // Boxes and poses only: no cameras, and no neighbouring files read for walker velocities.
  data::FrameReader reader{{}, data::FrameReaderOptions{false}};
  std::mutex mutex;
  using Key = std::pair<std::string, int>;
  std::map<Key, std::shared_ptr<const ParsedFrame>> frames;  // null: no such annotation
  std::deque<Key> order;                                     // oldest first

  std::shared_ptr<const ParsedFrame> get(const data::ClipInfo& clip, int frame, bool required,
                                         int64_t capacity) {
    const Key key{clip.name, frame};
    std::lock_guard<std::mutex> lock(mutex);
    if (const auto found = frames.find(key); found != frames.end()) {
      if (found->second || !required) return found->second;
    }
    std::shared_ptr<const ParsedFrame> parsed;
    std::error_code error;
    if (required || std::filesystem::exists(data::annotation_path(clip, frame), error)) {
      data::Frame read = reader.read(clip, frame);  // throws DataError naming the file
      auto value = std::make_shared<ParsedFrame>();
      value->ego2world = read.ego2world;
      value->boxes = std::move(read.boxes);
      parsed = std::move(value);
    }
    if (frames.insert_or_assign(key, parsed).second) order.push_back(key);
    while (static_cast<int64_t>(order.size()) > capacity) {
      frames.erase(order.front());
      order.pop_front();
    }
    return parsed;
  }
};

AgentFutureReader::AgentFutureReader(AgentFutureOptions options)
    : options_(std::move(options)), cache_(std::make_unique<Cache>()) {
  if (options_.steps < 0 || options_.step_frames < 1 || options_.cached_frames < 1) {
    throw ConfigError(concat("agent futures: steps must be >= 0, step_frames and cached_frames ",
                             ">= 1, got ", options_.steps, ", ", options_.step_frames, ", ",
                             options_.cached_frames));
  }
}

AgentFutureReader::~AgentFutureReader() = default;

std::vector<AgentFuture> AgentFutureReader::read(const std::string& clip_name,
                                                 int64_t frame) const {
  data::ClipInfo clip = data::parse_clip_name(clip_name);
  clip.path = (std::filesystem::path(options_.root) / clip_name).string();
  const std::shared_ptr<const ParsedFrame> now =
      cache_->get(clip, frame_number(frame, clip_name), true, options_.cached_frames);
  const Eigen::Matrix4d world2ego = now->ego2world.inverse();

  std::vector<AgentFuture> agents;
  std::unordered_map<std::string, size_t> by_id;
  for (const data::Box& box : now->boxes) {
    if (box.id.empty() || by_id.count(box.id) != 0) continue;  // nothing to find it again by
    by_id.emplace(box.id, agents.size());
    agents.push_back(
        {box, std::vector<std::optional<data::Box>>(static_cast<size_t>(options_.steps))});
  }
  for (int64_t k = 0; k < options_.steps; ++k) {
    const int64_t later_frame = frame + options_.step_frames * (k + 1);
    if (later_frame > INT_MAX) break;
    const std::shared_ptr<const ParsedFrame> later =
        cache_->get(clip, static_cast<int>(later_frame), false, options_.cached_frames);
    if (!later) continue;
    const Eigen::Matrix4d to_now = world2ego * later->ego2world;
    for (const data::Box& box : later->boxes) {
      const auto found = by_id.find(box.id);
      if (found == by_id.end()) continue;
      agents[found->second].later[static_cast<size_t>(k)] = moved(box, to_now);
    }
  }
  return agents;
}

}  // namespace rsd::eval
