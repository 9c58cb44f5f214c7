#include "data/synth/blueprints.h"

#include <cstdio>

namespace rsd::data::synth {
namespace {

struct Blueprint {
  const char* type_id;
  double ex, ey, ez;
};

// Half extents of CARLA 0.9.15 vehicles as the collector reports them.
constexpr Blueprint kCars[] = {
    {"vehicle.audi.tt", 2.0906, 0.9970, 0.6926},       {"vehicle.tesla.model3", 2.3958, 1.0816, 0.7443},
    {"vehicle.chevrolet.impala", 2.6787, 1.0166, 0.7053}, {"vehicle.mini.cooper_s_2021", 2.2763, 1.0485, 0.8835},
    {"vehicle.nissan.patrol_2021", 2.7822, 1.0749, 1.0209}, {"vehicle.mercedes.coupe_2020", 2.5133, 1.0757, 0.7222},
    {"vehicle.dodge.charger_2020", 2.5031, 1.0605, 0.7686}, {"vehicle.ford.crown", 2.6828, 0.9510, 0.7907},
    {"vehicle.lincoln.mkz_2020", 2.4508, 1.0641, 0.7553},  {"vehicle.audi.etron", 2.4278, 1.0160, 0.8246},
    {"vehicle.ford.mustang", 2.3592, 0.9426, 0.6504},
};
constexpr Blueprint kVans[] = {{"vehicle.ford.ambulance", 3.1805, 1.1873, 1.2139}};
constexpr Blueprint kTrucks[] = {{"vehicle.carlamotors.firetruck", 4.2346, 1.4402, 1.9525}};
// Bicycles: the box holds the rider as well (the renderer draws both inside it).
constexpr Blueprint kBicycles[] = {{"vehicle.diamondback.century", 0.8214, 0.3, 0.85},
                                   {"vehicle.bh.crossbike", 0.7444, 0.3, 0.85},
                                   {"vehicle.gazelle.omafiets", 0.9177, 0.3, 0.85}};
// Parked level meshes and their full sizes (B2D tooling lists these meshes and sizes).
struct ParkedMesh {
  const char* path;
  double length, width, height;
  VehicleClass vehicle_class;
};
constexpr ParkedMesh kParked[] = {
    {"/Game/Carla/Static/Car/4Wheeled/ParkedVehicles/FordCrown/SM_FordCrown_parked.SM_FordCrown_parked", 4.829, 1.621, 1.417, VehicleClass::car},
    {"/Game/Carla/Static/Car/4Wheeled/ParkedVehicles/Lincoln/SM_LincolnParked.SM_LincolnParked", 4.403, 1.653, 1.341, VehicleClass::car},
    {"/Game/Carla/Static/Car/4Wheeled/ParkedVehicles/Mini2021/SM_Mini2021_parked.SM_Mini2021_parked", 4.097, 1.887, 1.590, VehicleClass::car},
    {"/Game/Carla/Static/Car/4Wheeled/ParkedVehicles/VolkswagenT2/SM_VolkswagenT2_2021_Parked.SM_VolkswagenT2_2021_Parked", 4.032, 1.862, 1.834, VehicleClass::van},
    {"/Game/Carla/Static/Car/4Wheeled/ParkedVehicles/NissanPatrol2021/SM_NissanPatrol2021_parked.SM_NissanPatrol2021_parked", 5.009, 1.935, 1.841, VehicleClass::car},
    {"/Game/Carla/Static/Car/4Wheeled/ParkedVehicles/TeslaM3/SM_TeslaM3_parked.SM_TeslaM3_parked", 4.313, 1.947, 1.339, VehicleClass::car},
    {"/Game/Carla/Static/Car/4Wheeled/ParkedVehicles/MercedesCCC/SM_MercedesCCC_Parked.SM_MercedesCCC_Parked", 4.206, 1.631, 1.298, VehicleClass::car},
};
constexpr Rgb kPaints[] = {{20, 20, 20},    {200, 200, 200}, {150, 20, 25},  {25, 50, 120}, {240, 240, 235},
                           {90, 90, 95},    {30, 90, 60},    {200, 160, 30}, {120, 60, 20}, {60, 110, 170},
                           {170, 170, 175}, {100, 20, 60}};
constexpr Rgb kClothes[] = {{40, 40, 60},   {180, 40, 40}, {40, 90, 160}, {220, 220, 210}, {30, 30, 30},
                            {200, 170, 60}, {70, 120, 60}, {140, 90, 150}, {90, 60, 40},   {230, 120, 40}};
constexpr Rgb kSkins[] = {{235, 200, 170}, {200, 150, 110}, {150, 100, 70}, {95, 65, 45}};

template <typename T, std::size_t N>
const T& pick(Rng& rng, const T (&items)[N]) {
  return items[std::uniform_int_distribution<std::size_t>(0, N - 1)(rng)];
}

ActorSpec vehicle_from(const Blueprint& blueprint, const char* base_type, BodyShape shape, int tag) {
  ActorSpec spec;
  spec.kind = ActorKind::vehicle;
  spec.shape = shape;
  spec.type_id = blueprint.type_id;
  spec.base_type = base_type;
  spec.extent = Eigen::Vector3d(blueprint.ex, blueprint.ey, blueprint.ez);
  spec.bbx_loc = Eigen::Vector3d(0.0, 0.0, blueprint.ez);
  spec.semantic_tags = {tag};
  return spec;
}

}  // namespace

double uniform(Rng& rng, double low, double high) { return std::uniform_real_distribution<double>(low, high)(rng); }
int uniform_int(Rng& rng, int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng); }
bool chance(Rng& rng, double probability) { return uniform(rng, 0.0, 1.0) < probability; }

ActorIds::ActorIds(Rng& rng) : next_spawned_(uniform_int(rng, 180, 4000)), next_level_(uniform_int(rng, 20, 160)) {}
int ActorIds::spawned() { return next_spawned_++; }
int ActorIds::level() { return next_level_++; }

ActorSpec make_vehicle(Rng& rng, ActorIds& ids, VehicleClass vehicle_class) {
  ActorSpec spec;
  switch (vehicle_class) {
    case VehicleClass::car: spec = vehicle_from(pick(rng, kCars), "car", BodyShape::car, kTagCar); break;
    case VehicleClass::van: spec = vehicle_from(pick(rng, kVans), "van", BodyShape::van, kTagCar); break;
    case VehicleClass::truck: spec = vehicle_from(pick(rng, kTrucks), "truck", BodyShape::truck, kTagTruck); break;
  }
  spec.id = ids.spawned();
  spec.color = pick(rng, kPaints);
  return spec;
}

ActorSpec make_parked_vehicle(Rng& rng, ActorIds& ids) {
  const ParkedMesh& mesh = pick(rng, kParked);
  ActorSpec spec;
  spec.kind = ActorKind::vehicle;
  spec.parked_mesh = true;
  spec.shape = mesh.vehicle_class == VehicleClass::van ? BodyShape::van : BodyShape::car;
  spec.type_id = mesh.path;
  spec.extent = Eigen::Vector3d(mesh.length / 2, mesh.width / 2, mesh.height / 2);
  spec.bbx_loc = Eigen::Vector3d(0.0, 0.0, mesh.height / 2);
  spec.semantic_tags = {kTagCar};
  spec.id = ids.level();
  spec.color = pick(rng, kPaints);
  return spec;
}

ActorSpec make_ambulance(ActorIds& ids) {
  ActorSpec spec = vehicle_from(kVans[0], "van", BodyShape::van, kTagCar);
  spec.id = ids.spawned();
  spec.color = {235, 235, 230};
  spec.emergency = true;
  spec.light_state = "Special1";
  return spec;
}

ActorSpec make_bicycle(Rng& rng, ActorIds& ids) {
  ActorSpec spec = vehicle_from(pick(rng, kBicycles), "bicycle", BodyShape::bicycle, kTagBicycle);
  spec.semantic_tags = {kTagRider, kTagBicycle};
  spec.id = ids.spawned();
  spec.color = pick(rng, kPaints);
  spec.secondary = pick(rng, kClothes);
  spec.skin = pick(rng, kSkins);
  return spec;
}

ActorSpec make_walker(Rng& rng, ActorIds& ids, bool child) {
  ActorSpec spec;
  spec.kind = ActorKind::walker;
  spec.shape = BodyShape::walker;
  spec.id = ids.spawned();
  char type_id[40];
  std::snprintf(type_id, sizeof(type_id), "walker.pedestrian.%04d", child ? uniform_int(rng, 9, 14) : uniform_int(rng, 1, 41));
  spec.type_id = type_id;
  const double height = child ? uniform(rng, 1.1, 1.35) : uniform(rng, 1.6, 1.9);
  spec.extent = Eigen::Vector3d(0.1875, child ? 0.16 : 0.1875 + uniform(rng, 0.0, 0.05), height / 2);
  spec.bbx_loc = Eigen::Vector3d::Zero();  // walkers stand with their origin at the box centre
  spec.semantic_tags = {kTagPedestrian};
  spec.gender = chance(rng, 0.5) ? "male" : "female";
  spec.age = child ? "child" : "adult";
  spec.color = pick(rng, kClothes);
  spec.secondary = pick(rng, kClothes);
  spec.skin = pick(rng, kSkins);
  return spec;
}

ActorSpec make_traffic_light(ActorIds& ids, int group, bool affects_ego) {
  ActorSpec spec;
  spec.kind = ActorKind::traffic_light;
  spec.shape = BodyShape::traffic_light;
  spec.id = ids.level();
  spec.type_id = "traffic.traffic_light";
  spec.extent = Eigen::Vector3d(0.3, 0.3, 2.1);
  spec.bbx_loc = Eigen::Vector3d(0.0, 0.0, 2.1);
  spec.semantic_tags = {kTagTrafficLight};
  spec.light_group = group;
  spec.affects_ego = affects_ego;
  spec.has_trigger = true;
  return spec;
}

ActorSpec make_speed_sign(Rng& rng, ActorIds& ids, bool affects_ego) {
  static constexpr int kLimits[] = {30, 40, 50, 60};
  ActorSpec spec;
  spec.kind = ActorKind::traffic_sign;
  spec.shape = BodyShape::speed_sign;
  spec.id = ids.level();
  spec.type_id = "traffic.speed_limit." + std::to_string(pick(rng, kLimits));
  spec.extent = Eigen::Vector3d(0.1, 0.4, 1.3);
  spec.bbx_loc = Eigen::Vector3d(0.0, 0.0, 1.3);
  spec.semantic_tags = {kTagTrafficSign};
  spec.affects_ego = affects_ego;
  spec.has_trigger = true;
  return spec;
}

ActorSpec make_warning_board(ActorIds& ids) {
  ActorSpec spec;
  spec.kind = ActorKind::prop;
  spec.shape = BodyShape::warning_board;
  spec.id = ids.spawned();
  spec.type_id = "static.prop.trafficwarning";
  spec.extent = Eigen::Vector3d(0.45, 1.1, 1.2);
  spec.bbx_loc = Eigen::Vector3d(0.0, 0.0, 1.2);
  spec.semantic_tags = {kTagStatic};
  return spec;
}

ActorSpec make_cone(ActorIds& ids) {
  ActorSpec spec;
  spec.kind = ActorKind::prop;
  spec.shape = BodyShape::cone;
  spec.id = ids.spawned();
  spec.type_id = "static.prop.constructioncone";
  spec.extent = Eigen::Vector3d(0.17, 0.17, 0.35);
  spec.bbx_loc = Eigen::Vector3d(0.0, 0.0, 0.35);
  spec.semantic_tags = {kTagStatic};
  return spec;
}

}  // namespace rsd::data::synth
