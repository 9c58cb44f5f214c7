// Steps the synthetic world at 10 Hz: signals, walkers, NPC vehicles and the ego's expert.
#include <algorithm>
#include <cmath>
#include <random>

#include "data/synth/expert.h"
#include "data/synth/traffic.h"

namespace rsd::data::synth {
namespace {


}  // namespace

void advance_along(double accel, double* v, double* s) {
  const double v_next = *v + accel * kFrameDt;
  if (v_next <= 0.0) {
    if (accel < 0.0) *s += (*v) * (*v) / (2.0 * -accel);
    *v = 0.0;
    return;
  }
  *s += 0.5 * (*v + v_next) * kFrameDt;
  *v = v_next;
}

Transform vehicle_transform(const ClipWorld& world, const ForecastPose& pose) {
  Transform transform;
  transform.location = Eigen::Vector3d(pose.position.x(), pose.position.y(), world.road.ground_z);
  transform.rotation.yaw = wrap_degrees(degrees(pose.yaw));
  return transform;
}

namespace {

Transform walker_transform(const ClipWorld& world, const ActorSpec& spec, const ForecastPose& pose) {
  Transform transform;
  transform.location = Eigen::Vector3d(pose.position.x(), pose.position.y(), world.road.ground_z + spec.extent.z());
  transform.rotation.yaw = wrap_degrees(degrees(pose.yaw));
  return transform;
}

double vehicle_forecast_s(const VehicleAgent& agent, double dt) {
  if (!agent.started) return agent.s;
  return std::min(agent.s + agent.v * dt, std::max(agent.hold_s, agent.s));
}

}  // namespace

Forecasts forecast_actors(const Simulation& simulation, const std::vector<ActorState>& states) {
  Forecasts forecasts;
  const std::size_t count = simulation.world.actors.size();
  forecasts.actors.resize(count);
  forecasts.actor_speeds.assign(count, 0.0);
  for (std::size_t i = 0; i < count; ++i) {
    ForecastPose still;
    still.position = states[i].transform.location.head<2>();
    still.yaw = radians(states[i].transform.rotation.yaw);
    forecasts.actors[i].fill(still);
  }
  const LateralProfile straight;
  for (const VehicleAgent& agent : simulation.vehicles) {
    Forecast& forecast = forecasts.actors[static_cast<std::size_t>(agent.actor)];
    for (int k = 0; k < kForecastSteps; ++k) forecast[static_cast<std::size_t>(k)] = pose_on(*agent.path, agent.lateral, vehicle_forecast_s(agent, k * kForecastDt));
    forecasts.actor_speeds[static_cast<std::size_t>(agent.actor)] = agent.v;
  }
  for (const WalkerAgent& agent : simulation.walkers) {
    Forecast& forecast = forecasts.actors[static_cast<std::size_t>(agent.actor)];
    const double speed = agent.started && agent.s < agent.path->length() ? agent.speed : 0.0;
    for (int k = 0; k < kForecastSteps; ++k) {
      const double s = std::min(agent.s + speed * k * kForecastDt, agent.path->length());
      forecast[static_cast<std::size_t>(k)] = pose_on(*agent.path, straight, s);
    }
    forecasts.actor_speeds[static_cast<std::size_t>(agent.actor)] = speed;
  }
  return forecasts;
}

Forecast forecast_on_route(const EgoAgent& ego) {
  Forecast forecast;
  for (int k = 0; k < kForecastSteps; ++k) forecast[static_cast<std::size_t>(k)] = pose_on(*ego.path, ego.lateral, ego.s + ego.v * k * kForecastDt);
  return forecast;
}

namespace {

void drive_vehicle(VehicleAgent& agent, const Simulation& simulation, const Forecasts& forecasts, double time) {
  if (!agent.started) {
    agent.accel = 0.0;
    return;
  }
  if (agent.phase == 0 && agent.hard_brake_time >= 0.0 && time >= agent.hard_brake_time) agent.phase = 1;
  if (agent.phase == 1) {
    agent.accel = -agent.hard_brake_decel;
    agent.hold_s = agent.s + agent.v * agent.v / (2.0 * agent.hard_brake_decel);
    if (agent.v <= 0.0) {
      agent.phase = 2;
      agent.hold_until = time + agent.hard_brake_hold;
    }
    return;
  }
  if (agent.phase == 2) {
    agent.accel = 0.0;
    agent.hold_s = agent.s;
    if (time >= agent.hold_until) agent.phase = 3;
    return;
  }
  const ActorSpec& spec = simulation.world.actors[static_cast<std::size_t>(agent.actor)];
  Follower follower;
  follower.path = agent.path.get();
  follower.lateral = &agent.lateral;
  follower.s = agent.s;
  follower.v = agent.v;
  follower.front = spec.extent.x();
  follower.half_width = spec.extent.y();
  follower.margin = 0.3;
  follower.lookahead = 40.0;
  follower.forecast_steps = 3;  // NPCs look 1 s ahead
  follower.self = agent.actor;
  follower.include_ego = true;
  std::vector<Obstacle> obstacles = obstacles_ahead(follower, forecasts, simulation.world, simulation.world.ego);
  agent.hold_s = std::numeric_limits<double>::infinity();
  for (const StopLine& line : agent.stop_lines) {
    const double gap = line.s - (agent.s + follower.front);
    if (gap < -0.5 || gap > 80.0) continue;
    const int state = simulation.signals.state(line.group, time);
    if (state == 0 || (state == 1 && gap > agent.v * agent.v / (2.0 * agent.comfort_decel))) {
      Obstacle stop;
      stop.gap = gap;
      stop.min_gap = 0.8;
      obstacles.push_back(stop);
      agent.hold_s = std::min(agent.hold_s, line.s - follower.front - 0.8);
    }
  }
  for (const Obstacle& obstacle : obstacles) {
    if (obstacle.speed < 0.5) agent.hold_s = std::min(agent.hold_s, agent.s + std::max(0.0, obstacle.gap - agent.min_gap));
  }
  const double v0 = curve_speed_limit(*agent.path, agent.lateral, agent.s, agent.desired_speed);
  agent.accel = idm_acceleration(agent.v, v0, agent.max_accel, agent.comfort_decel, agent.headway, obstacles);
}

}  // namespace


void place_traffic(Simulation& simulation, std::vector<ActorState>& states, double time, double ego_route_s) {
  const ClipWorld& world = simulation.world;
  const LateralProfile straight;
  for (VehicleAgent& agent : simulation.vehicles) {
    if (!agent.started && agent.start.fired(time, ego_route_s)) {
      agent.started = true;
      agent.v = std::max(agent.v, agent.start_speed);
    }
    ActorState& state = states[static_cast<std::size_t>(agent.actor)];
    state.transform = vehicle_transform(world, pose_on(*agent.path, agent.lateral, agent.s));
    state.speed = agent.v;
  }
  for (WalkerAgent& agent : simulation.walkers) {
    if (!agent.started && agent.start.fired(time, ego_route_s)) agent.started = true;
    const ActorSpec& spec = world.actors[static_cast<std::size_t>(agent.actor)];
    ActorState& state = states[static_cast<std::size_t>(agent.actor)];
    state.transform = walker_transform(world, spec, pose_on(*agent.path, straight, agent.s));
    state.speed = agent.started && agent.s < agent.path->length() ? agent.speed : 0.0;
    state.gait = agent.gait;
  }
  for (std::size_t i = 0; i < world.actors.size(); ++i) {
    if (world.actors[i].kind == ActorKind::traffic_light) states[i].light = simulation.signals.state(world.actors[i].light_group, time);
  }
}

void decide_traffic(Simulation& simulation, const Forecasts& forecasts, double time, std::vector<ActorState>& states) {
  for (VehicleAgent& agent : simulation.vehicles) drive_vehicle(agent, simulation, forecasts, time);
  for (VehicleAgent& agent : simulation.vehicles) {
    // Brake pedal of NPCs as CARLA reports it: the share of hard braking.
    states[static_cast<std::size_t>(agent.actor)].brake = agent.accel < -0.5 ? std::min(1.0, -agent.accel / 8.0) : 0.0;
  }
}

void advance_traffic(Simulation& simulation) {
  for (VehicleAgent& agent : simulation.vehicles) {
    if (!agent.started) continue;
    advance_along(agent.accel, &agent.v, &agent.s);
  }
  for (WalkerAgent& agent : simulation.walkers) {
    if (!agent.started || agent.s >= agent.path->length()) continue;
    agent.s = std::min(agent.s + agent.speed * kFrameDt, agent.path->length());
    agent.gait += agent.speed * kFrameDt / 0.7 * M_PI;
  }
}

void simulate(Simulation& simulation, int frames) {
  ClipWorld& world = simulation.world;
  std::vector<ActorState> states = simulation.initial;
  states.resize(world.actors.size());
  std::mt19937_64 noise(simulation.noise_seed);
  std::normal_distribution<double> unit(0.0, 1.0);

  for (int frame = 0; frame < frames; ++frame) {
    const double time = frame * kFrameDt;
    EgoAgent& ego = simulation.ego;
    place_traffic(simulation, states, time, ego.s);

    // Decisions.
    Forecasts forecasts = forecast_actors(simulation, states);
    forecasts.ego = forecast_on_route(ego);
    forecasts.ego_speed = ego.v;
    const EgoDecision decision = decide_ego(ego, simulation, forecasts, time);
    decide_traffic(simulation, forecasts, time, states);

    // Record the frame.
    FrameState record;
    record.time = time;
    record.actors = states;
    EgoFrame& out = record.ego;
    const ForecastPose pose = pose_on(*ego.path, ego.lateral, ego.s);
    out.transform = vehicle_transform(world, pose);
    out.speed = ego.v;
    out.route_s = ego.s;
    out.lane_change = ego.lateral.changing_direction(ego.s);
    const double curvature = curvature_on(*ego.path, ego.lateral, ego.s);
    const double applied = (ego.v <= 0.0 && decision.accel < 0.0) ? 0.0 : decision.accel;
    out.acceleration = Eigen::Vector3d(applied + 0.001 * unit(noise), ego.v * ego.v * curvature + 0.001 * unit(noise),
                                       kGravity + 0.015 * unit(noise));
    out.angular_velocity = Eigen::Vector3d(0.001 * unit(noise), 0.001 * unit(noise), ego.v * curvature + 0.001 * unit(noise));
    out.steer = std::clamp(std::atan(kEgoWheelbase * curvature) / radians(kEgoMaxSteerDegrees), -1.0, 1.0);
    if (decision.accel >= -0.3) {
      out.throttle = std::clamp(0.3 + 0.35 * decision.accel + 0.02 * ego.v, 0.0, 0.85);
      if (ego.v >= ego.desired_speed && decision.accel <= 0.0) out.throttle = 0.0;
      out.brake = 0.0;
    } else {
      out.throttle = 0.0;
      out.brake = std::clamp(-decision.accel / 8.0, 0.0, 1.0);
    }
    if (ego.v < 0.05 && decision.accel <= 0.0) {  // holding still
      out.throttle = 0.0;
      out.brake = 1.0;
    }
    out.should_brake = decision.hazard;
    world.frames.push_back(std::move(record));

    // Advance.
    advance_along(decision.accel, &ego.v, &ego.s);
    advance_traffic(simulation);
  }
}

}  // namespace rsd::data::synth
