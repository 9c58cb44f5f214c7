#include "rsd/eval/abilities.h"

#include <algorithm>
#include <utility>

#include "rsd/data/clip_index.h"

namespace rsd::eval {
namespace {

// Bench2Drive's table (tools/ability_benchmark.py, `Ability`), its duplicate entries dropped.
// Three names are misspelt there (MergeIntoSlowTraffic, ParkingCrossingPedestrain,
// VanillaNonSignalizedTurnEncouterStopsign); both spellings are listed so that clip folders named
// after the CARLA scenario classes map too.
const std::vector<std::pair<std::string, std::vector<std::string>>>& ability_table() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> table = {
      {"Merging",
       {"CrossingBicycleFlow", "EnterActorFlow", "HighwayExit", "InterurbanActorFlow",
        "HighwayCutIn", "InterurbanAdvancedActorFlow", "MergerIntoSlowTrafficV2",
        "MergeIntoSlowTraffic", "MergerIntoSlowTraffic", "NonSignalizedJunctionLeftTurn",
        "NonSignalizedJunctionRightTurn", "NonSignalizedJunctionLeftTurnEnterFlow", "ParkingExit",
        "SequentialLaneChange", "SignalizedJunctionLeftTurn", "SignalizedJunctionRightTurn",
        "SignalizedJunctionLeftTurnEnterFlow"}},
      {"Overtaking",
       {"Accident", "AccidentTwoWays", "ConstructionObstacle", "ConstructionObstacleTwoWays",
        "HazardAtSideLaneTwoWays", "HazardAtSideLane", "ParkedObstacleTwoWays", "ParkedObstacle",
        "VehicleOpenDoorTwoWays"}},
      {"Emergency_Brake",
       {"BlockedIntersection", "DynamicObjectCrossing", "HardBreakRoute",
        "OppositeVehicleTakingPriority", "OppositeVehicleRunningRedLight", "ParkingCutIn",
        "PedestrianCrossing", "ParkingCrossingPedestrain", "ParkingCrossingPedestrian",
        "StaticCutIn", "VehicleTurningRoute", "VehicleTurningRoutePedestrian", "ControlLoss"}},
      {"Give_Way", {"InvadingTurn", "YieldToEmergencyVehicle"}},
      {"Traffic_Signs",
       {"BlockedIntersection",
        "OppositeVehicleTakingPriority",
        "OppositeVehicleRunningRedLight",
        "PedestrianCrossing",
        "VehicleTurningRoute",
        "VehicleTurningRoutePedestrian",
        "EnterActorFlow",
        "CrossingBicycleFlow",
        "NonSignalizedJunctionLeftTurn",
        "NonSignalizedJunctionRightTurn",
        "NonSignalizedJunctionLeftTurnEnterFlow",
        "SignalizedJunctionLeftTurn",
        "SignalizedJunctionRightTurn",
        "SignalizedJunctionLeftTurnEnterFlow",
        "T_Junction",
        "VanillaNonSignalizedTurn",
        "VanillaSignalizedTurnEncounterGreenLight",
        "VanillaSignalizedTurnEncounterRedLight",
        "VanillaNonSignalizedTurnEncouterStopsign",
        "VanillaNonSignalizedTurnEncounterStopsign"}},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& ability_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> result;
    for (const auto& [ability, scenarios] : ability_table()) result.push_back(ability);
    return result;
  }();
  return names;
}

std::vector<std::string> abilities_of_scenario(const std::string& scenario) {
  std::vector<std::string> result;
  for (const auto& [ability, scenarios] : ability_table()) {
    if (std::find(scenarios.begin(), scenarios.end(), scenario) != scenarios.end()) {
      result.push_back(ability);
    }
  }
  return result;
}

std::vector<std::string> abilities_of_clip(const std::string& clip_name) {
  return abilities_of_scenario(data::parse_clip_name(clip_name).scenario);
}

}  // namespace rsd::eval
