#include "data/synth/scenarios.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "data/synth/blueprints.h"
#include "data/synth/scenery.h"
#include "rsd/util/error.h"
#include "rsd/util/seed.h"

namespace rsd::data::synth {
namespace {

constexpr const char* kTowns[] = {"Town01", "Town02", "Town03", "Town04", "Town05", "Town06",
                                  "Town07", "Town10HD", "Town11", "Town12", "Town13", "Town15"};
constexpr double kInfinity = std::numeric_limits<double>::infinity();

class Builder {
 public:
  Builder(const std::string& scenario, int clip_index, int frames, uint64_t seed, ScenarioStream stream)
      : rng_(make_rng(seed, {static_cast<uint64_t>(stream), static_cast<uint64_t>(clip_index)})), ids_(rng_) {
    ClipWorld& world = sim_.world;
    world.scenario = scenario;
    world.town = kTowns[uniform_int(rng_, 0, 11)];
    // Route numbers are unique within a dataset: a base from the seed plus the clip index.
    world.route_id = static_cast<int>(derive_seed(seed, {0x40u}) % 20000) + clip_index;
    const auto& cases = weather_cases();
    world.weather = cases[static_cast<std::size_t>(uniform_int(rng_, 0, static_cast<int>(cases.size()) - 1))];
    world.map_to_world.location = Eigen::Vector3d(uniform(rng_, -2500.0, 2500.0), uniform(rng_, -2500.0, 2500.0), 0.0);
    world.map_to_world.rotation.yaw = uniform(rng_, -180.0, 180.0);
    const bool high_town = world.town == "Town12" || world.town == "Town13";
    world.road.ground_z = high_town ? uniform(rng_, 300.0, 370.0) : uniform(rng_, -0.5, 1.5);
    world.road.main_road_id = uniform_int(rng_, 1, 900);
    world.road.cross_road_id = world.road.main_road_id + uniform_int(rng_, 1, 40);
    world.road.junction_road_id = 1000 + uniform_int(rng_, 0, 1500);
    world.ego.id = ids_.spawned();
    world.ego.color = Rgb{static_cast<uint8_t>(uniform_int(rng_, 10, 240)), static_cast<uint8_t>(uniform_int(rng_, 10, 240)),
                          static_cast<uint8_t>(uniform_int(rng_, 10, 240))};
    sim_.noise_seed = derive_seed(seed, {0x1b0u, static_cast<uint64_t>(clip_index)});
    duration_ = frames * kFrameDt;
    desired_ = uniform(rng_, 6.5, 9.5);
    event_ = std::clamp(desired_ * duration_ * 0.45, 14.0, 90.0);
  }

  Rng& rng() { return rng_; }
  ActorIds& ids() { return ids_; }
  RoadLayout& road() { return sim_.world.road; }
  double desired() const { return desired_; }
  double event() const { return event_; }
  double duration() const { return duration_; }

  void layout(int lanes, double parking, bool junction, double junction_x = 0.0) {
    RoadLayout& r = road();
    r.lanes = lanes;
    r.parking_width = parking;
    r.junction = junction;
    r.junction_x = junction_x;
    const double travel = desired_ * duration_ + 60.0;
    r.x_min = -160.0;
    r.x_max = std::max(320.0, travel + 220.0);
    r.y_min = -std::max(260.0, travel + 160.0);
    r.y_max = -r.y_min;
  }

  int add(ActorSpec spec, const Transform& transform) {
    sim_.world.actors.push_back(std::move(spec));
    ActorState state;
    state.transform = transform;
    sim_.initial.push_back(state);
    return static_cast<int>(sim_.world.actors.size()) - 1;
  }

  Transform ground(double x, double y, double yaw_degrees) const {
    Transform t;
    t.location = Eigen::Vector3d(x, y, sim_.world.road.ground_z);
    t.rotation.yaw = wrap_degrees(yaw_degrees);
    return t;
  }

  VehicleAgent& drive(ActorSpec spec, std::shared_ptr<const Path> path, double v, double desired) {
    const Path::Pose pose = path->at(0.0);
    VehicleAgent agent;
    agent.actor = add(std::move(spec), ground(pose.position.x(), pose.position.y(), degrees(pose.yaw)));
    agent.path = std::move(path);
    agent.v = v;
    agent.desired_speed = desired;
    agent.started = true;
    sim_.vehicles.push_back(std::move(agent));
    return sim_.vehicles.back();
  }

  /// A vehicle on the main road heading `direction` (+1: +x) in `lane`, starting at x.
  VehicleAgent& main_vehicle(ActorSpec spec, int direction, int lane, double x, double v, double desired) {
    const RoadLayout& r = road();
    const double y = r.main_lane_y(direction, lane);
    auto path = std::make_shared<Path>(Eigen::Vector2d(x, y), direction > 0 ? 0.0 : M_PI);
    path->straight(direction > 0 ? r.x_max + 60.0 - x : x - r.x_min + 60.0);
    VehicleAgent& agent = drive(std::move(spec), path, v, desired);
    if (r.junction) {
      const double s = direction * (r.main_stop_x(direction) - x);
      if (s > 0.0) agent.stop_lines.push_back({s, 0});
    }
    return agent;
  }

  /// A vehicle on the cross road heading `direction` (+1: +y) in `lane`, starting at y.
  VehicleAgent& cross_vehicle(ActorSpec spec, int direction, int lane, double y, double v, double desired) {
    const RoadLayout& r = road();
    const double x = r.cross_lane_x(direction, lane);
    auto path = std::make_shared<Path>(Eigen::Vector2d(x, y), direction > 0 ? M_PI / 2 : -M_PI / 2);
    path->straight(direction > 0 ? r.y_max + 60.0 - y : y - r.y_min + 60.0);
    VehicleAgent& agent = drive(std::move(spec), path, v, desired);
    const double s = direction * (r.cross_stop_y(direction) - y);
    if (s > 0.0) agent.stop_lines.push_back({s, 1});
    return agent;
  }

  /// A parked level mesh in the parking strip of the side of traffic heading `direction`.
  int parked(double x, int direction) {
    ActorSpec spec = make_parked_vehicle(rng_, ids_);
    return add(std::move(spec), ground(x, road().parking_y(direction), direction > 0 ? 0.0 : 180.0));
  }

  WalkerAgent& walker(ActorSpec spec, std::shared_ptr<const Path> path, double speed, Trigger start) {
    const Path::Pose pose = path->at(0.0);
    Transform t = ground(pose.position.x(), pose.position.y(), degrees(pose.yaw));
    t.location.z() += spec.extent.z();
    WalkerAgent agent;
    agent.actor = add(std::move(spec), t);
    agent.path = std::move(path);
    agent.speed = speed;
    agent.start = start;
    sim_.walkers.push_back(std::move(agent));
    return sim_.walkers.back();
  }

  // ---- background ----

  void oncoming_traffic(int count) {
    double x = uniform(rng_, 25.0, 50.0);
    for (int i = 0; i < count; ++i) {
      const int lane = uniform_int(rng_, 0, road().lanes - 1);
      if (!near_junction(x, 12.0)) {
        const double v = uniform(rng_, 5.0, 9.0);
        if (chance(rng_, 0.15)) {
          ActorSpec bike = make_bicycle(rng_, ids_);
          main_vehicle(std::move(bike), -1, road().lanes - 1, x, 4.0, 4.5);
        } else {
          main_vehicle(make_vehicle(rng_, ids_, chance(rng_, 0.08) ? VehicleClass::truck : VehicleClass::car), -1,
                       lane, x, v, v);
        }
      }
      x += uniform(rng_, 18.0, 45.0);
    }
  }

  /// Vehicles heading +x in lanes other than the ego's.
  void same_direction_traffic(int count, int ego_lane) {
    for (int i = 0; i < count; ++i) {
      int lane = uniform_int(rng_, 0, road().lanes - 1);
      if (lane == ego_lane) lane = (lane + 1) % road().lanes;
      if (lane == ego_lane) return;  // single lane
      const double x = uniform(rng_, -30.0, 60.0) + 35.0 * i;
      if (std::abs(x) < 9.0 || near_junction(x, 12.0)) continue;
      const double v = desired_ * uniform(rng_, 0.8, 1.15);
      main_vehicle(make_vehicle(rng_, ids_), +1, lane, x, v, v);
    }
  }

  void sidewalk_walkers(int count) {
    const RoadLayout& r = road();
    for (int i = 0; i < count; ++i) {
      const int side = chance(rng_, 0.5) ? 1 : -1;
      const double y = side * (r.main_half() + uniform(rng_, 1.0, r.sidewalk_width - 0.7));
      double x = uniform(rng_, -30.0, std::min(150.0, r.x_max - 40.0));
      const int heading = chance(rng_, 0.5) ? 1 : -1;
      double end = x + heading * uniform(rng_, 40.0, 90.0);
      if (r.junction) {  // stay on this block
        const double edge = r.junction_half_x() + 1.0;
        if (std::abs(x - r.junction_x) < edge) continue;
        const double lo = x < r.junction_x ? -kInfinity : r.junction_x + edge;
        const double hi = x < r.junction_x ? r.junction_x - edge : kInfinity;
        end = std::clamp(end, lo, hi);
        if (std::abs(end - x) < 5.0) continue;
      }
      auto path = std::make_shared<Path>(Eigen::Vector2d(x, y), heading > 0 ? 0.0 : M_PI);
      path->line_to(Eigen::Vector2d(end, y));
      walker(make_walker(rng_, ids_, chance(rng_, 0.1)), path, uniform(rng_, 1.0, 1.5), Trigger{});
    }
  }

  void parked_row(int direction, double from, double to, const std::vector<double>& keep_clear) {
    double x = from;
    while (x < to) {
      bool clear = true;
      for (const double c : keep_clear) clear = clear && std::abs(x - c) > 6.5;
      if (clear && !near_junction(x, 8.0) && chance(rng_, 0.7)) parked(x, direction);
      x += uniform(rng_, 6.0, 9.0);
    }
  }

  void speed_sign(double x) {
    const RoadLayout& r = road();
    ActorSpec spec = make_speed_sign(rng_, ids_, true);
    spec.trigger = ground(x, r.lanes * r.lane_width / 2, 0.0);
    spec.trigger_extent = Eigen::Vector3d(1.0, r.lanes * r.lane_width / 2, 1.0);
    add(std::move(spec), ground(x, r.main_half() + 0.6, 180.0));
  }

  /// One light per approach; group 0 governs the main road, group 1 the cross road.
  void traffic_lights() {
    const RoadLayout& r = road();
    const double w = r.lanes * r.lane_width;
    struct Approach {
      double x, y, yaw, tx, ty, tyaw;
      int group;
      bool ego;
    };
    const double sx1 = r.main_stop_x(1), sx2 = r.main_stop_x(-1), sy1 = r.cross_stop_y(1), sy2 = r.cross_stop_y(-1);
    const Approach approaches[] = {
        {sx1 + 0.5, r.main_half() + 0.7, 180.0, sx1 - 1.0, w / 2, 0.0, 0, true},
        {sx2 - 0.5, -(r.main_half() + 0.7), 0.0, sx2 + 1.0, -w / 2, 180.0, 0, false},
        {r.junction_x - r.cross_half() - 0.7, sy1 + 0.5, -90.0, r.junction_x - w / 2, sy1 - 1.0, 90.0, 1, false},
        {r.junction_x + r.cross_half() + 0.7, sy2 - 0.5, 90.0, r.junction_x + w / 2, sy2 + 1.0, -90.0, 1, false},
    };
    for (const Approach& a : approaches) {
      ActorSpec spec = make_traffic_light(ids_, a.group, a.ego);
      spec.trigger = ground(a.tx, a.ty, a.tyaw);
      spec.trigger_extent = Eigen::Vector3d(1.0, w / 2, 1.0);
      add(std::move(spec), ground(a.x, a.y, a.yaw));
    }
  }

  /// Alternating green for the main road and the cross road; the main road turns green at
  /// `main_green_at` (0: green from the start).
  void signal_cycle(double main_green_at, double green = 18.0) {
    SignalPlan& plan = sim_.signals;
    double t = 0.0;
    const auto phase = [&](double length, int main, int cross) {
      t += length;
      SignalPlan::Phase p;
      p.until = t;
      p.state[0] = main;
      p.state[1] = cross;
      plan.phases.push_back(p);
    };
    if (main_green_at > 0.0) {
      phase(std::max(0.0, main_green_at - 4.0), 0, 2);
      phase(std::min(3.0, main_green_at), 0, 1);
      phase(1.0, 0, 0);
    }
    while (t < duration_ + 60.0) {
      phase(green, 2, 0);
      phase(3.0, 1, 0);
      phase(1.0, 0, 0);
      phase(green, 0, 2);
      phase(3.0, 0, 1);
      phase(1.0, 0, 0);
    }
  }

  // ---- ego ----

  /// The ego starts at x = 0 in `lane` heading +x; turn -1 left, 0 straight, +1 right at the junction.
  void ego_route(int lane, int turn, double speed) {
    const RoadLayout& r = road();
    EgoAgent& ego = sim_.ego;
    auto path = std::make_shared<Path>(Eigen::Vector2d(0.0, r.main_lane_y(1, lane)), 0.0);
    const double travel = desired_ * duration_ + 150.0;
    if (r.junction && turn != 0) {
      const double arc_start = r.junction_x - r.junction_half_x();
      path->straight(arc_start);
      const double end_x = r.cross_lane_x(turn > 0 ? 1 : -1, turn > 0 ? r.lanes - 1 : 0);
      path->arc(std::abs(end_x - arc_start), turn * M_PI / 2);
      path->straight(travel);
    } else {
      path->straight(travel + 100.0);
    }
    ego.path = path;
    ego.s = 0.0;
    ego.v = speed;
    ego.desired_speed = desired_;
    ego.lane_width = r.lane_width;
    ego.lateral = LateralProfile(0.0);
    if (r.junction) ego.stop_lines.push_back({r.main_stop_x(1), 0});
    turn_ = turn;
  }

  Simulation finish() {
    ClipWorld& world = sim_.world;
    const Path& path = *sim_.ego.path;
    const double last = std::min(path.length(), desired_ * duration_ + 120.0);
    const int turn_command = turn_ < 0 ? kLeft : turn_ > 0 ? kRight : kStraight;
    for (double s = 0.0; s <= last; s += 10.0) {
      RouteNode node;
      node.s = s;
      node.position = path.at(s).position;
      const bool turning = std::abs(path.at(s).curvature) > 1e-6;
      node.command = (turning || world.road.in_junction(node.position.x(), node.position.y())) ? turn_command : kLaneFollow;
      world.route.push_back(node);
    }
    add_scenery(world, rng_);
    return std::move(sim_);
  }

  /// Rough time for the ego, starting at `speed`, to reach its stop line.
  double arrival(double speed) const {
    const double distance = road().main_stop_x(1) - sim_.world.ego.extent.x();
    const double cruise = 0.85 * desired_;
    const double accelerating = std::max(0.0, cruise - speed) / 2.0;  // ~2 m/s^2
    return accelerating + std::max(0.0, distance - 0.5 * (speed + cruise) * accelerating) / cruise;
  }

  bool near_junction(double x, double margin) const {
    return road().junction && std::abs(x - road().junction_x) < road().junction_half_x() + margin;
  }
  const RoadLayout& road() const { return sim_.world.road; }
  Simulation& simulation() { return sim_; }

 private:
  Rng rng_;
  ActorIds ids_;
  Simulation sim_;
  double duration_ = 6.0;
  double desired_ = 8.0;
  double event_ = 30.0;
  int turn_ = 0;
};

double start_speed(Builder& b) { return chance(b.rng(), 0.25) ? 0.0 : b.desired() * uniform(b.rng(), 0.6, 1.0); }

// A group of walkers waits at a zebra crossing and crosses when the ego approaches.
void pedestrian_crossing(Builder& b) {
  b.layout(uniform_int(b.rng(), 1, 2), 0.0, false);
  const double crossing = b.event() + 8.0;
  b.road().crosswalks.push_back(crossing);
  b.ego_route(0, 0, start_speed(b));
  const int side = chance(b.rng(), 0.7) ? 1 : -1;
  const int count = uniform_int(b.rng(), 1, 3);
  const double half = b.road().main_half();
  const double lane_y = b.road().main_lane_y(1, 0);
  for (int i = 0; i < count; ++i) {
    const double x = crossing + uniform(b.rng(), -1.2, 1.2);
    const double y = side * (half + 0.8 + 0.7 * i);
    const double speed = uniform(b.rng(), 1.1, 1.6);
    // Start so that the walker reaches the ego's lane about when the ego would, unbraked.
    const double to_lane = std::abs(y - lane_y) / speed;
    const Trigger start{std::max(0.0, x - b.desired() * (to_lane + 0.3) - 3.0), 0.0};
    auto path = std::make_shared<Path>(Eigen::Vector2d(x, y), side > 0 ? -M_PI / 2 : M_PI / 2);
    path->line_to(Eigen::Vector2d(x + uniform(b.rng(), -0.8, 0.8), -side * (half + 1.5)));
    path->line_to(Eigen::Vector2d(x + (chance(b.rng(), 0.5) ? 20.0 : -20.0), -side * (half + 1.5)));
    b.walker(make_walker(b.rng(), b.ids(), chance(b.rng(), 0.2)), path, speed, start);
  }
  b.oncoming_traffic(uniform_int(b.rng(), 1, 3));
  b.sidewalk_walkers(uniform_int(b.rng(), 2, 5));
  b.speed_sign(uniform(b.rng(), 10.0, 30.0));
}

// A walker or cyclist bursts out from behind a parked vehicle.
void dynamic_object_crossing(Builder& b) {
  b.layout(1, 2.4, false);
  const double spot = b.event() + 6.0;
  b.ego_route(0, 0, start_speed(b));
  const int blocker = b.parked(spot - 6.0, 1);
  const double half = b.road().main_half();
  const double x = spot - 6.0 + b.simulation().world.actors[static_cast<std::size_t>(blocker)].extent.x() + 0.9;
  const Trigger start{std::max(0.0, x - std::max(11.0, 2.4 * b.desired())), 0.0};
  if (chance(b.rng(), 0.65)) {
    auto path = std::make_shared<Path>(Eigen::Vector2d(x, half + 0.8), -M_PI / 2);
    path->line_to(Eigen::Vector2d(x + 1.0, -(half + 1.5)));
    path->line_to(Eigen::Vector2d(x + 15.0, -(half + 1.5)));
    b.walker(make_walker(b.rng(), b.ids()), path, uniform(b.rng(), 2.0, 3.0), start);
  } else {
    auto path = std::make_shared<Path>(Eigen::Vector2d(x, half + 1.2), -M_PI / 2);
    path->straight(2.0 * half + 2.7).arc(1.2, M_PI / 2).straight(60.0);
    VehicleAgent& bike = b.drive(make_bicycle(b.rng(), b.ids()), path, 0.0, 4.5);
    bike.started = false;
    bike.start = start;
    bike.start_speed = 3.5;
  }
  b.parked_row(1, -60.0, spot + 80.0, {spot - 6.0, x});
  b.oncoming_traffic(uniform_int(b.rng(), 0, 2));
  b.sidewalk_walkers(uniform_int(b.rng(), 2, 4));
}

// A parked car pulls out of the parking strip into the ego's lane.
void parking_cut_in(Builder& b) {
  b.layout(1, 2.4, false);
  const double spot = b.event() + 8.0;
  b.ego_route(0, 0, start_speed(b));
  const RoadLayout& road = b.road();
  const double lane_y = road.main_lane_y(1, 0);
  auto path = std::make_shared<Path>(Eigen::Vector2d(spot, lane_y), 0.0);
  path->straight(road.x_max + 60.0 - spot);
  VehicleAgent& cutter = b.drive(make_vehicle(b.rng(), b.ids()), path, 0.0, uniform(b.rng(), 5.5, 7.5));
  cutter.lateral = LateralProfile(road.parking_y(1) - lane_y);
  cutter.lateral.change(0.3, uniform(b.rng(), 8.0, 10.0), 0.0);
  cutter.started = false;
  cutter.start = Trigger{std::max(0.0, spot - std::max(12.0, 2.2 * b.desired())), 0.0};
  cutter.start_speed = 1.5;
  cutter.max_accel = 3.0;
  // Its parked pose, before it moves.
  b.simulation().initial[static_cast<std::size_t>(cutter.actor)].transform =
      b.ground(spot, road.parking_y(1), 0.0);
  b.parked(spot - 7.0, 1);
  b.parked(spot + 11.0, 1);
  b.parked_row(1, -60.0, spot + 90.0, {spot - 7.0, spot, spot + 5.0, spot + 11.0});
  b.oncoming_traffic(uniform_int(b.rng(), 1, 3));
  b.sidewalk_walkers(uniform_int(b.rng(), 1, 4));
}

// The leader ahead brakes hard to a stop, then drives on; the ego follows it.
void hard_break_route(Builder& b) {
  const int lanes = uniform_int(b.rng(), 1, 2);
  b.layout(lanes, 0.0, false);
  const double v = b.desired() * uniform(b.rng(), 0.7, 0.95);
  b.ego_route(0, 0, v);
  VehicleAgent& leader = b.main_vehicle(make_vehicle(b.rng(), b.ids()), 1, 0, uniform(b.rng(), 14.0, 24.0), v,
                                        b.desired() * uniform(b.rng(), 0.75, 0.95));
  leader.hard_brake_time = std::clamp(0.35 * b.duration(), 1.5, 8.0);
  leader.hard_brake_decel = uniform(b.rng(), 6.0, 8.0);
  leader.hard_brake_hold = uniform(b.rng(), 1.5, 3.0);
  if (chance(b.rng(), 0.5)) b.main_vehicle(make_vehicle(b.rng(), b.ids()), 1, 0, -uniform(b.rng(), 14.0, 20.0), v, b.desired());
  b.same_direction_traffic(lanes > 1 ? uniform_int(b.rng(), 0, 2) : 0, 0);
  b.oncoming_traffic(uniform_int(b.rng(), 1, 4));
  b.sidewalk_walkers(uniform_int(b.rng(), 1, 4));
  b.speed_sign(uniform(b.rng(), 20.0, 60.0));
}

// Wait at the red light, then turn left across oncoming traffic, yielding to it.
void signalized_junction_left_turn(Builder& b) {
  const int lanes = uniform_int(b.rng(), 1, 2);
  RoadLayout probe;
  probe.lanes = lanes;
  const double junction_x = std::max(18.0, b.event()) + probe.junction_half_x() + 4.4;
  b.layout(lanes, 0.0, true, junction_x);
  const double speed = start_speed(b);
  b.ego_route(0, -1, speed);
  b.traffic_lights();
  // Red until shortly after the ego reaches the stop line, so that it stops and then turns.
  b.signal_cycle(std::clamp(b.arrival(speed) + uniform(b.rng(), 2.5, 4.0), 2.0, 0.8 * b.duration()));
  const RoadLayout& road = b.road();
  const int oncoming = uniform_int(b.rng(), 1, 3);
  double x = road.main_stop_x(-1) + uniform(b.rng(), 1.0, 4.0);
  for (int i = 0; i < oncoming; ++i) {
    b.main_vehicle(make_vehicle(b.rng(), b.ids()), -1, 0, x, 0.0, uniform(b.rng(), 6.0, 8.5));
    x += uniform(b.rng(), 9.0, 16.0);
  }
  for (int i = 0, crossing = uniform_int(b.rng(), 1, 3); i < crossing; ++i) {
    const int direction = chance(b.rng(), 0.5) ? 1 : -1;
    const double y = -direction * (road.junction_half_y() + uniform(b.rng(), 8.0, 40.0));
    b.cross_vehicle(make_vehicle(b.rng(), b.ids()), direction, uniform_int(b.rng(), 0, lanes - 1), y,
                    uniform(b.rng(), 5.0, 8.0), 8.0);
  }
  b.sidewalk_walkers(uniform_int(b.rng(), 2, 5));
}

// Stop at a long red light while cross traffic flows, then turn.
void vanilla_signalized_turn_red(Builder& b) {
  const int lanes = uniform_int(b.rng(), 1, 2);
  RoadLayout probe;
  probe.lanes = lanes;
  const double junction_x = std::max(16.0, b.event() * 0.8) + probe.junction_half_x() + 4.4;
  b.layout(lanes, 0.0, true, junction_x);
  const int turn = chance(b.rng(), 0.6) ? 1 : -1;
  const double speed = start_speed(b);
  b.ego_route(turn > 0 ? lanes - 1 : 0, turn, speed);
  b.traffic_lights();
  // A long red: the ego waits a few seconds at the line while cross traffic flows.
  b.signal_cycle(std::clamp(b.arrival(speed) + uniform(b.rng(), 4.5, 7.0), 3.0, 0.85 * b.duration()));
  const RoadLayout& road = b.road();
  for (int i = 0, crossing = uniform_int(b.rng(), 2, 5); i < crossing; ++i) {
    const int direction = chance(b.rng(), 0.5) ? 1 : -1;
    const double y = -direction * (road.junction_half_y() + uniform(b.rng(), 5.0, 25.0) + 14.0 * i);
    b.cross_vehicle(make_vehicle(b.rng(), b.ids()), direction, uniform_int(b.rng(), 0, lanes - 1), y,
                    uniform(b.rng(), 6.0, 9.0), 9.0);
  }
  double x = road.main_stop_x(-1) + uniform(b.rng(), 1.0, 4.0);
  for (int i = 0, queued = uniform_int(b.rng(), 0, 2); i < queued; ++i) {
    b.main_vehicle(make_vehicle(b.rng(), b.ids()), -1, uniform_int(b.rng(), 0, lanes - 1), x, 0.0, 7.5);
    x += uniform(b.rng(), 9.0, 14.0);
  }
  b.sidewalk_walkers(uniform_int(b.rng(), 2, 5));
}

// A vehicle stands in the ego's lane behind a warning board; the ego changes lanes around it.
void parked_obstacle(Builder& b) {
  b.layout(2, 0.0, false);
  const double spot = b.event() + 14.0;
  b.ego_route(1, 0, start_speed(b));
  EgoAgent& ego = b.simulation().ego;
  ego.may_overtake = true;
  ego.left_limit = -b.road().lane_width;
  ego.right_limit = 0.0;
  const RoadLayout& road = b.road();
  const double lane_y = road.main_lane_y(1, 1);
  ActorSpec car = make_vehicle(b.rng(), b.ids());
  car.blocking = true;
  car.light_state = "Special1";  // hazard lights, as CARLA's parked obstacle
  const int obstacle = b.add(car, b.ground(spot, lane_y + uniform(b.rng(), -0.2, 0.4), uniform(b.rng(), -4.0, 4.0)));
  ActorSpec board = make_warning_board(b.ids());
  board.blocking = true;
  b.add(board, b.ground(spot - b.simulation().world.actors[static_cast<std::size_t>(obstacle)].extent.x() - 5.0, lane_y, 0.0));
  b.same_direction_traffic(uniform_int(b.rng(), 0, 2), 1);
  b.oncoming_traffic(uniform_int(b.rng(), 1, 4));
  b.sidewalk_walkers(uniform_int(b.rng(), 1, 4));
}

// An ambulance closes in from behind; the ego moves to the right lane to let it pass.
void yield_to_emergency_vehicle(Builder& b) {
  b.layout(2, 0.0, false);
  b.ego_route(0, 0, b.desired() * uniform(b.rng(), 0.7, 1.0));
  EgoAgent& ego = b.simulation().ego;
  ego.yields_to_emergency = true;
  ego.left_limit = 0.0;
  ego.right_limit = b.road().lane_width;
  const double behind = std::clamp(b.duration() * 2.5, 18.0, 40.0);
  VehicleAgent& ambulance = b.main_vehicle(make_ambulance(b.ids()), 1, 0, -behind, uniform(b.rng(), 11.0, 13.0), 15.0);
  ambulance.headway = 0.8;
  if (chance(b.rng(), 0.5)) {
    const double v = b.desired() * 0.7;
    b.main_vehicle(make_vehicle(b.rng(), b.ids()), 1, 1, uniform(b.rng(), 40.0, 70.0), v, v);
  }
  b.oncoming_traffic(uniform_int(b.rng(), 1, 4));
  b.sidewalk_walkers(uniform_int(b.rng(), 1, 4));
}

using BuildFunction = void (*)(Builder&);

const std::vector<std::pair<std::string, BuildFunction>>& builders() {
  static const std::vector<std::pair<std::string, BuildFunction>> table = {
      {"PedestrianCrossing", pedestrian_crossing},
      {"ParkingCutIn", parking_cut_in},
      {"SignalizedJunctionLeftTurn", signalized_junction_left_turn},
      {"HardBreakRoute", hard_break_route},
      {"DynamicObjectCrossing", dynamic_object_crossing},
      {"VanillaSignalizedTurnEncounterRedLight", vanilla_signalized_turn_red},
      {"ParkedObstacle", parked_obstacle},
      {"YieldToEmergencyVehicle", yield_to_emergency_vehicle},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& scenario_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& entry : builders()) out.push_back(entry.first);
    return out;
  }();
  return names;
}

Simulation build_scenario(const std::string& scenario, int clip_index, int frames, uint64_t seed,
                          ScenarioStream stream) {
  for (const auto& [name, build] : builders()) {
    if (name != scenario) continue;
    Builder builder(scenario, clip_index, frames, seed, stream);
    build(builder);
    return builder.finish();
  }
  std::string known;
  for (const std::string& name : scenario_names()) known += (known.empty() ? "" : ", ") + name;
  throw ConfigError("unknown synthetic scenario '" + scenario + "' (known: " + known + ")");
}

}  // namespace rsd::data::synth
