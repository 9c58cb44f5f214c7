// rsd::data::synth::ClosedLoopWorld: the scenario's traffic stepped with an ego driven from outside,
// and the drive judged as Bench2Drive's leaderboard judges it.
#include "rsd/data/synth/closed_loop.h"

#include <algorithm>
#include <cmath>

#include "data/synth/annotation.h"
#include "data/synth/expert.h"
#include "data/synth/python_json.h"
#include "data/synth/scenarios.h"
#include "data/synth/closed_loop_state.h"
#include "data/synth/sensor_rig.h"
#include "rsd/data/synth/synth.h"
#include "rsd/util/error.h"

namespace rsd::data::synth {
namespace {

Eigen::Vector2d rotate(const Eigen::Vector2d& p, double angle) {
  const double c = std::cos(angle), s = std::sin(angle);
  return {c * p.x() - s * p.y(), s * p.x() + c * p.y()};
}

// A footprint: centre, heading (map frame) and half sizes.
struct Footprint {
  Eigen::Vector2d center;
  double yaw = 0.0;
  Eigen::Vector2d half;
};

// Separating-axis test of two rectangles.
bool overlap(const Footprint& a, const Footprint& b) {
  const Eigen::Vector2d axes[4] = {{std::cos(a.yaw), std::sin(a.yaw)}, {-std::sin(a.yaw), std::cos(a.yaw)},
                                   {std::cos(b.yaw), std::sin(b.yaw)}, {-std::sin(b.yaw), std::cos(b.yaw)}};
  const Eigen::Vector2d d = b.center - a.center;
  for (const Eigen::Vector2d& axis : axes) {
    const auto reach = [&](const Footprint& f) {
      return f.half.x() * std::abs(axis.dot(Eigen::Vector2d(std::cos(f.yaw), std::sin(f.yaw)))) +
             f.half.y() * std::abs(axis.dot(Eigen::Vector2d(-std::sin(f.yaw), std::cos(f.yaw))));
    };
    if (std::abs(d.dot(axis)) > reach(a) + reach(b)) return false;
  }
  return true;
}

Footprint actor_footprint(const ActorSpec& spec, const ActorState& state) {
  const double yaw = radians(state.transform.rotation.yaw);
  Footprint f;
  f.center = state.transform.location.head<2>() + rotate(spec.bbx_loc.head<2>(), yaw);
  f.yaw = yaw;
  f.half = spec.extent.head<2>();
  return f;
}

// What a collision with this actor counts as; false when it cannot be hit (lights, signs).
bool collision_kind(const ActorSpec& spec, Infraction* kind) {
  switch (spec.kind) {
    case ActorKind::walker: *kind = Infraction::collision_pedestrian; return true;
    case ActorKind::vehicle:
      *kind = spec.parked_mesh ? Infraction::collision_static : Infraction::collision_vehicle;
      return true;
    case ActorKind::prop: *kind = Infraction::collision_static; return true;
    default: return false;
  }
}

bool solid_scenery(Scenery kind) {
  return kind == Scenery::building || kind == Scenery::pole || kind == Scenery::lamp || kind == Scenery::trunk;
}

// The ego keeping its speed and curvature for the next 3 s (what the traffic expects of it).
Forecast forecast_free_ego(const FreeEgo& ego) {
  Forecast forecast;
  for (int k = 0; k < kForecastSteps; ++k) {
    const double distance = ego.v * k * kForecastDt;
    ForecastPose& pose = forecast[static_cast<std::size_t>(k)];
    if (std::abs(ego.curvature) < 1e-6) {
      pose.position = ego.position + distance * Eigen::Vector2d(std::cos(ego.yaw), std::sin(ego.yaw));
      pose.yaw = ego.yaw;
    } else {
      const double turn = ego.curvature * distance;
      pose.yaw = ego.yaw + turn;
      pose.position = ego.position + Eigen::Vector2d(std::sin(pose.yaw) - std::sin(ego.yaw),
                                                     std::cos(ego.yaw) - std::cos(pose.yaw)) / ego.curvature;
    }
  }
  return forecast;
}

}  // namespace

// ---- routes ----

std::string RouteSpec::name() const { return scenario + "_" + std::to_string(index) + "_s" + std::to_string(seed); }

std::vector<RouteSpec> make_route_set(int count, uint64_t seed, int frames, const std::vector<std::string>& scenarios) {
  if (count < 1) throw ConfigError("closed loop: the route count must be >= 1, got " + std::to_string(count));
  if (frames < 20) throw ConfigError("closed loop: route frames must be >= 20, got " + std::to_string(frames));
  const std::vector<std::string> types = scenarios.empty() ? supported_scenarios() : scenarios;
  const auto& known = scenario_names();
  for (const std::string& type : types) {
    if (std::find(known.begin(), known.end(), type) == known.end()) {
      std::string list;
      for (const std::string& name : known) list += (list.empty() ? "" : ", ") + name;
      throw ConfigError("closed loop: unknown scenario '" + type + "' (known: " + list + ")");
    }
  }
  std::vector<RouteSpec> routes;
  for (int i = 0; i < count; ++i) {
    RouteSpec route;
    route.scenario = types[static_cast<std::size_t>(i) % types.size()];
    route.index = i;
    route.seed = seed;
    route.frames = frames;
    routes.push_back(route);
  }
  return routes;
}

std::vector<RouteSpec> default_route_set() { return make_route_set(20, 2026, 150); }

std::vector<std::string> rig_camera_names() {
  std::vector<std::string> names;
  for (const SensorMount& mount : sensor_rig()) {
    if (mount.kind == SensorKind::camera && !mount.suffix.empty()) names.push_back(mount.name);
  }
  return names;
}

const char* to_string(Infraction infraction) {
  switch (infraction) {
    case Infraction::collision_pedestrian: return "collision_pedestrian";
    case Infraction::collision_vehicle: return "collision_vehicle";
    case Infraction::collision_static: return "collision_static";
    case Infraction::red_light: return "red_light";
    case Infraction::stop_sign: return "stop_sign";
    case Infraction::scenario_timeout: return "scenario_timeout";
    case Infraction::outside_route_lanes: return "outside_route_lanes";
    case Infraction::route_deviation: return "route_deviation";
    case Infraction::route_timeout: return "route_timeout";
    case Infraction::agent_blocked: return "agent_blocked";
  }
  return "unknown";
}

double penalty_factor(Infraction infraction) {
  switch (infraction) {
    case Infraction::collision_pedestrian: return 0.50;
    case Infraction::collision_vehicle: return 0.60;
    case Infraction::collision_static: return 0.65;
    case Infraction::red_light: return 0.70;
    case Infraction::stop_sign: return 0.80;
    case Infraction::scenario_timeout: return 0.70;
    default: return 1.0;
  }
}

// ---- frames ----

Eigen::Vector2d ClosedLoopWorld::Impl::to_route(const Eigen::Vector2d& map) const {
  const Eigen::Vector2d local = rotate(map - origin, -origin_yaw);  // left-handed, start heading +x
  return {local.x(), -local.y()};
}

Eigen::Vector2d ClosedLoopWorld::Impl::from_route(const Eigen::Vector2d& route_point) const {
  return origin + rotate(Eigen::Vector2d(route_point.x(), -route_point.y()), origin_yaw);
}

Eigen::Vector2d ClosedLoopWorld::Impl::ego_to_map(const Eigen::Vector2d& ego_point) const {
  return ego.position + rotate(Eigen::Vector2d(ego_point.x(), -ego_point.y()), ego.yaw);
}

Eigen::Vector2d ClosedLoopWorld::Impl::map_to_ego(const Eigen::Vector2d& map) const {
  const Eigen::Vector2d local = rotate(map - ego.position, -ego.yaw);
  return {local.x(), -local.y()};
}

namespace {

// The tick's FrameState (what the annotation and the cameras show) from the free ego.
FrameState record_tick(const ClosedLoopWorld::Impl& impl, double route_s) {
  FrameState frame;
  frame.time = impl.tick * kFrameDt;
  frame.actors = impl.states;
  EgoFrame& out = frame.ego;
  ForecastPose pose;
  pose.position = impl.ego.position;
  pose.yaw = impl.ego.yaw;
  out.transform = vehicle_transform(impl.sim.world, pose);
  out.speed = impl.ego.v;
  out.acceleration = Eigen::Vector3d(impl.ego.accel, impl.ego.v * impl.ego.v * impl.ego.curvature, kGravity);
  out.angular_velocity = Eigen::Vector3d(0.0, 0.0, impl.ego.v * impl.ego.curvature);
  out.throttle = impl.ego.control.throttle;
  out.brake = impl.ego.control.brake;
  out.steer = impl.ego.steer;
  out.route_s = route_s;
  return frame;
}

void validate(const RouteSpec& route, const ClosedLoopOptions& options) {
  if (route.frames < 20) throw ConfigError("closed loop: route " + route.name() + " needs frames >= 20");
  if (options.image_width < 16 || options.image_height < 16) {
    throw ConfigError("closed loop: image size must be at least 16x16, got " + std::to_string(options.image_width) +
                      "x" + std::to_string(options.image_height));
  }
  if (!(options.time_limit_factor >= 1.0) || !(options.blocked_seconds > 0.0) || !(options.deviation_limit > 0.0) ||
      !(options.route_extension >= 0.0)) {
    throw ConfigError("closed loop: time_limit_factor >= 1, blocked_seconds > 0, deviation_limit > 0 and route_extension >= 0 "
                      "are required");
  }
}

}  // namespace

// ---- the world ----

ClosedLoopWorld::ClosedLoopWorld(const RouteSpec& route, const ClosedLoopOptions& options) : impl_(std::make_unique<Impl>()) {
  validate(route, options);
  Impl& s = *impl_;
  s.route = route;
  s.options = options;
  {
    // The expert drives the same world once: where it is at the end of the timeline, plus the
    // extension, is the route's end; how long it takes to get there sets the time limit.
    Simulation reference = build_scenario(route.scenario, route.index, route.frames, route.seed, ScenarioStream::closed_loop);
    const int horizon = 4 * route.frames;
    simulate(reference, horizon);
    const auto& frames = reference.world.frames;
    s.outcome.route_length = std::max(10.0, frames[static_cast<std::size_t>(route.frames - 1)].ego.route_s + options.route_extension);
    int arrival = horizon;
    for (int i = route.frames - 1; i < horizon; ++i) {
      if (frames[static_cast<std::size_t>(i)].ego.route_s >= s.outcome.route_length) {
        arrival = i;
        break;
      }
    }
    s.outcome.route_length = std::min(s.outcome.route_length, frames.back().ego.route_s);
    s.outcome.expert_time = arrival * kFrameDt;
  }
  s.sim = build_scenario(route.scenario, route.index, route.frames, route.seed, ScenarioStream::closed_loop);
  s.states = s.sim.initial;
  s.states.resize(s.sim.world.actors.size());
  const ForecastPose start = pose_on(*s.sim.ego.path, s.sim.ego.lateral, 0.0);
  s.ego.position = start.position;
  s.ego.yaw = start.yaw;
  s.ego.v = s.sim.ego.v;
  s.origin = start.position;
  s.origin_yaw = start.yaw;
  s.lines_passed.assign(s.sim.ego.stop_lines.size(), false);
  s.outcome.route = route.name();
  s.outcome.scenario = route.scenario;
  s.outcome.clip = s.sim.world.name();
  s.outcome.time_limit = s.outcome.expert_time * options.time_limit_factor + options.time_limit_extra;
  place_traffic(s.sim, s.states, 0.0, 0.0);
  s.sim.world.frames.push_back(record_tick(s, 0.0));
  s.renderer = std::make_unique<SceneRenderer>(s.sim.world);
}

ClosedLoopWorld::~ClosedLoopWorld() = default;

const RouteSpec& ClosedLoopWorld::route() const { return impl_->route; }
const ClosedLoopOptions& ClosedLoopWorld::options() const { return impl_->options; }
std::string ClosedLoopWorld::clip_name() const { return impl_->sim.world.name(); }
int ClosedLoopWorld::tick() const { return impl_->tick; }
bool ClosedLoopWorld::finished() const { return impl_->finished; }
const RouteOutcome& ClosedLoopWorld::outcome() const { return impl_->outcome; }

std::string ClosedLoopWorld::annotation() const {
  AnnotationOptions options;
  options.width = impl_->options.image_width;
  options.height = impl_->options.image_height;
  return python_json_dump(make_annotation(impl_->sim.world, impl_->tick, options));
}

std::vector<RenderedCamera> ClosedLoopWorld::render(const std::vector<std::string>& cameras, const ImageWindow* window) const {
  const Impl& s = *impl_;
  const FrameState& frame = s.sim.world.frames[static_cast<std::size_t>(s.tick)];
  const std::vector<Face> actors = s.renderer->actor_faces(frame);
  std::vector<RenderedCamera> out;
  for (const std::string& name : cameras) {
    const auto& rig = sensor_rig();
    const auto mount = std::find_if(rig.begin(), rig.end(), [&](const SensorMount& m) {
      return m.kind == SensorKind::camera && m.name == name;
    });
    if (mount == rig.end()) throw ConfigError("closed loop: the sensor rig has no camera '" + name + "'");
    CameraView view = s.renderer->view(frame, *mount, s.options.image_width, s.options.image_height);
    if (window != nullptr) {
      // The renderer samples pixel index i at u = i: window index p must sample the camera's
      // u = (p + 0.5 - offset) / scale - 0.5.
      view.width = window->width;
      view.height = window->height;
      view.cx = window->offset_x - 0.5 + window->scale_x * (0.5 + view.cx);
      view.cy = window->offset_y - 0.5 + window->scale_y * (0.5 + view.cy);
      view.fx *= window->scale_x;
      view.fy *= window->scale_y;
    }
    s.renderer->render(view, actors, s.raster);
    const cv::Mat& colour = s.raster.colour();
    RenderedCamera camera;
    camera.name = name;
    camera.width = colour.cols;
    camera.height = colour.rows;
    camera.bgr.resize(static_cast<std::size_t>(colour.total()) * 3);
    for (int row = 0; row < colour.rows; ++row) {
      std::copy(colour.ptr<uint8_t>(row), colour.ptr<uint8_t>(row) + colour.cols * 3,
                camera.bgr.data() + static_cast<std::size_t>(row) * colour.cols * 3);
    }
    out.push_back(std::move(camera));
  }
  return out;
}

namespace {

// Where the ego is along its route: arc length and lateral offset (positive = right), searched
// near the last known progress. False when the ego is beside no part of that stretch.
bool locate_on_route(const ClosedLoopWorld::Impl& s, double* route_s, double* lateral) {
  const double last = s.sim.world.frames.back().ego.route_s;
  return s.sim.ego.path->project(s.ego.position, std::max(0.0, last - 15.0), last + 30.0, route_s, lateral);
}

Forecasts current_forecasts(const ClosedLoopWorld::Impl& s) {
  Forecasts forecasts = forecast_actors(s.sim, s.states);
  forecasts.ego = forecast_free_ego(s.ego);
  forecasts.ego_speed = s.ego.v;
  return forecasts;
}

}  // namespace

ExpertPlan ClosedLoopWorld::expert_plan(int steps) {
  Impl& s = *impl_;
  EgoAgent& expert = s.sim.ego;
  double route_s = 0.0, lateral = 0.0;
  expert.s = locate_on_route(s, &route_s, &lateral) ? route_s : s.sim.world.frames.back().ego.route_s;
  expert.v = s.ego.v;
  const EgoDecision decision = decide_ego(expert, s.sim, current_forecasts(s), s.tick * kFrameDt);
  ExpertPlan plan;
  plan.hazard = decision.hazard;
  double v = expert.v, along = expert.s;
  for (int k = 1; k <= steps; ++k) {
    for (int sub = 0; sub < 5; ++sub) advance_along(decision.accel, &v, &along);
    plan.waypoints.push_back(s.map_to_ego(pose_on(*expert.path, expert.lateral, along).position));
  }
  return plan;
}

namespace {

// The bicycle model: one tick of `control` from the ego's state.
void drive_ego(FreeEgo& ego, const VehicleControl& control, const VehicleLimits& limits) {
  ego.control = control;
  const double target = std::clamp(control.steer, -1.0, 1.0);
  const double max_change = limits.steer_rate * kFrameDt;
  ego.steer += std::clamp(target - ego.steer, -max_change, max_change);
  const double throttle = std::clamp(control.throttle, 0.0, 1.0), brake = std::clamp(control.brake, 0.0, 1.0);
  double accel = throttle * limits.max_accel * std::max(0.0, 1.0 - ego.v / limits.top_speed) - brake * limits.max_brake;
  if (ego.v > 0.0) accel -= limits.resistance;
  if (ego.v <= 0.0 && accel < 0.0) accel = 0.0;
  double curvature = std::tan(radians(ego.steer * kEgoMaxSteerDegrees)) / kEgoWheelbase;
  const double grip = limits.max_lateral_accel / std::max(ego.v * ego.v, 1e-6);
  curvature = std::clamp(curvature, -grip, grip);
  double v = ego.v, distance = 0.0;
  advance_along(accel, &v, &distance);
  const double heading = ego.yaw + 0.5 * curvature * distance;
  ego.position += distance * Eigen::Vector2d(std::cos(heading), std::sin(heading));
  ego.yaw += curvature * distance;
  ego.accel = (v - ego.v) / kFrameDt;
  ego.v = v;
  ego.curvature = curvature;
}

// Whether the ego (map position) is in a lane of its route's direction, or in the opposite lane
// only as far as the scenario allows (overtaking an obstacle).
bool in_route_lanes(const ClosedLoopWorld::Impl& s, double route_s, double lateral) {
  const RoadLayout& road = s.sim.world.road;
  const Eigen::Vector2d& p = s.ego.position;
  if (road.in_junction(p.x(), p.y())) return true;
  const RoadLocation where = road.locate(p.x(), p.y());
  if (std::abs(where.lane_id) > road.lanes) return false;  // parking strip, sidewalk, off the road
  const double heading = s.sim.ego.path->at(route_s).yaw;
  const bool on_main = where.road_id == road.main_road_id;
  const bool reference_direction = on_main ? std::cos(heading) > 0.0 : std::sin(heading) > 0.0;
  const bool right_side_lane = where.lane_id < 0;
  if (reference_direction == right_side_lane) return true;
  return lateral >= s.sim.ego.left_limit - 0.5 * road.lane_width - 0.5;
}

void add_infraction(ClosedLoopWorld::Impl& s, Infraction kind, std::string actor = {}) {
  InfractionEvent event;
  event.kind = kind;
  event.time = s.tick * kFrameDt;
  event.position = s.to_route(s.ego.position);
  event.actor = std::move(actor);
  s.outcome.infractions.push_back(std::move(event));
}

void judge_collisions(ClosedLoopWorld::Impl& s) {
  Footprint ego;
  ego.center = s.ego.position + rotate(s.sim.world.ego.bbx_loc.head<2>(), s.ego.yaw);
  ego.yaw = s.ego.yaw;
  ego.half = s.sim.world.ego.extent.head<2>();
  std::set<std::string> touching;
  const auto touch = [&](const std::string& key, Infraction kind, const std::string& actor) {
    touching.insert(key);
    s.ego.v = 0.0;  // a car cannot drive through what it touches (no crash physics)
    if (s.contacts.count(key) != 0) return;  // one event per contact
    add_infraction(s, kind, actor);
  };
  const auto& actors = s.sim.world.actors;
  for (std::size_t i = 0; i < actors.size(); ++i) {
    Infraction kind;
    if (!collision_kind(actors[i], &kind)) continue;
    const Footprint other = actor_footprint(actors[i], s.states[i]);
    if ((other.center - ego.center).norm() > 12.0 || !overlap(ego, other)) continue;
    touch("actor" + std::to_string(actors[i].id), kind, std::to_string(actors[i].id));
  }
  const auto& scenery = s.sim.world.scenery;
  for (std::size_t i = 0; i < scenery.size(); ++i) {
    if (!solid_scenery(scenery[i].kind)) continue;
    // Parts above the car (lamp arms, signal gantries) pass over it.
    if (scenery[i].center.z() - scenery[i].half.z() > s.sim.world.road.ground_z + 2.0 * s.sim.world.ego.extent.z()) continue;
    Footprint other;
    other.center = scenery[i].center.head<2>();
    other.yaw = scenery[i].yaw;
    other.half = scenery[i].half.head<2>();
    if ((other.center - ego.center).norm() > other.half.norm() + 4.0 || !overlap(ego, other)) continue;
    touch("scenery" + std::to_string(i), Infraction::collision_static, "");
  }
  s.contacts = std::move(touching);
}

void end_route(ClosedLoopWorld::Impl& s, const std::string& why) {
  s.finished = true;
  s.outcome.end = why;
}

}  // namespace

void ClosedLoopWorld::step(const VehicleControl& control, const std::vector<Eigen::Vector2d>& plan) {
  Impl& s = *impl_;
  if (s.finished) throw Error("closed loop: route " + s.route.name() + " has finished; step() called again");
  const double time = s.tick * kFrameDt;
  const double previous_s = s.sim.world.frames.back().ego.route_s;

  RouteTick record;
  record.time = time;
  record.position = s.to_route(s.ego.position);
  record.yaw = -(s.ego.yaw - s.origin_yaw);
  record.speed = s.ego.v;
  record.accel_lon = s.ego.accel;
  record.accel_lat = -s.ego.v * s.ego.v * s.ego.curvature;
  record.yaw_rate = -s.ego.v * s.ego.curvature;
  record.route_s = previous_s;
  record.control = control;
  for (const Eigen::Vector2d& point : plan) record.plan.push_back(s.to_route(s.ego_to_map(point)));
  double traffic = 0.0;
  int moving = 0;
  for (const VehicleAgent& agent : s.sim.vehicles) {
    const ActorState& state = s.states[static_cast<std::size_t>(agent.actor)];
    if (agent.v < 0.5 || (state.transform.location.head<2>() - s.ego.position).norm() > 50.0) continue;
    traffic += agent.v;
    ++moving;
  }
  record.traffic_speed = moving > 0 ? traffic / moving : -1.0;

  // Everyone decides on the same forecasts, then everything moves.
  decide_traffic(s.sim, current_forecasts(s), time, s.states);
  const Eigen::Vector2d before = s.ego.position;
  drive_ego(s.ego, control, s.options.vehicle);
  advance_traffic(s.sim);
  ++s.tick;
  const double now = s.tick * kFrameDt;

  double route_s = previous_s, lateral = 0.0;
  const bool beside_route = locate_on_route(s, &route_s, &lateral);
  if (!beside_route) {
    route_s = previous_s;
    lateral = (s.ego.position - s.sim.ego.path->at(previous_s).position).norm();
  }
  place_traffic(s.sim, s.states, now, route_s);
  s.outcome.ticks.push_back(std::move(record));

  // Judge the new tick.
  judge_collisions(s);
  const double front = s.sim.world.ego.extent.x();
  for (std::size_t i = 0; i < s.sim.ego.stop_lines.size(); ++i) {
    const StopLine& line = s.sim.ego.stop_lines[i];
    if (s.lines_passed[i] || route_s + front < line.s) continue;
    s.lines_passed[i] = true;
    if (previous_s + front < line.s && std::abs(lateral) < 3.0 && s.sim.signals.state(line.group, now) == 0) {
      add_infraction(s, Infraction::red_light);
    }
  }
  const double moved = (s.ego.position - before).norm();
  if (!in_route_lanes(s, route_s, lateral)) s.outcome.outside_lanes += moved;
  s.outcome.progress = std::max(s.outcome.progress, route_s);
  s.outcome.time = now;
  s.still_time = s.ego.v < 0.1 ? s.still_time + kFrameDt : 0.0;
  s.sim.world.frames.push_back(record_tick(s, route_s));

  if (std::abs(lateral) > s.options.deviation_limit) {
    add_infraction(s, Infraction::route_deviation);
    end_route(s, "route_deviation");
  } else if (s.outcome.progress >= s.outcome.route_length) {
    end_route(s, "completed");
  } else if (now >= s.outcome.time_limit) {
    add_infraction(s, Infraction::route_timeout);
    add_infraction(s, Infraction::scenario_timeout);
    end_route(s, "route_timeout");
  } else if (s.still_time >= s.options.blocked_seconds) {
    add_infraction(s, Infraction::agent_blocked);
    add_infraction(s, Infraction::scenario_timeout);
    end_route(s, "agent_blocked");
  }
  const double length = s.outcome.route_length;
  const double reached = s.outcome.end == "completed" ? 1.0 : std::clamp(s.outcome.progress / length, 0.0, 1.0);
  s.outcome.route_completion = std::max(0.0, reached - s.outcome.outside_lanes / length);
}

}  // namespace rsd::data::synth
