#include "rsd/eval/abilities.h"

#include <algorithm>
#include <map>
#include <utility>

#include "rsd/data/clip_index.h"

namespace rsd::eval {
namespace {

// Bench2Drive's table (tools/ability_benchmark.py, `Ability`, as of the commit that fixed its
// spellings: VehicleOpensDoorTwoWays, MergerIntoSlowTraffic, ParkingCrossingPedestrian,
// VanillaNonSignalizedTurnEncounterStopsign), its duplicate entries dropped. The names are the
// `type` of the route XMLs' <scenario>, which is what that script reads.
const std::vector<std::pair<std::string, std::vector<std::string>>>& ability_table() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> table = {
      {"Merging",
       {"CrossingBicycleFlow", "EnterActorFlow", "HighwayExit", "InterurbanActorFlow",
        "HighwayCutIn", "InterurbanAdvancedActorFlow", "MergerIntoSlowTrafficV2",
        "MergerIntoSlowTraffic", "NonSignalizedJunctionLeftTurn", "NonSignalizedJunctionRightTurn",
        "NonSignalizedJunctionLeftTurnEnterFlow", "ParkingExit", "SequentialLaneChange",
        "SignalizedJunctionLeftTurn", "SignalizedJunctionRightTurn",
        "SignalizedJunctionLeftTurnEnterFlow"}},
      {"Overtaking",
       {"Accident", "AccidentTwoWays", "ConstructionObstacle", "ConstructionObstacleTwoWays",
        "HazardAtSideLaneTwoWays", "HazardAtSideLane", "ParkedObstacleTwoWays", "ParkedObstacle",
        "VehicleOpensDoorTwoWays"}},
      {"Emergency_Brake",
       {"BlockedIntersection", "DynamicObjectCrossing", "HardBreakRoute",
        "OppositeVehicleTakingPriority", "OppositeVehicleRunningRedLight", "ParkingCutIn",
        "PedestrianCrossing", "ParkingCrossingPedestrian", "StaticCutIn", "VehicleTurningRoute",
        "VehicleTurningRoutePedestrian", "ControlLoss"}},
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
        "VanillaNonSignalizedTurnEncounterStopsign"}},
  };
  return table;
}

// Names under which the table's scenarios also appear, mapped to the table's name:
// - clip folders (the dataset's file lists) write names without underscores: TJunction for the
//   route XMLs' T_Junction (Bench2Drive issue #53 renamed the Full set's duplicates between the
//   two), and LaneChange where the benchmark has SequentialLaneChange: the datasets' scenario
//   names and the benchmark's 44 types match one to one except for these two pairs, LaneChange is
//   the only lane-change scenario in the data and SequentialLaneChange the only one in the
//   benchmark (an inference: no Bench2Drive file states this pair);
// - the spellings of the table before Bench2Drive fixed them, which older result files carry.
const std::map<std::string, std::string>& scenario_aliases() {
  static const std::map<std::string, std::string> aliases = {
      {"TJunction", "T_Junction"},
      {"LaneChange", "SequentialLaneChange"},
      {"VehicleOpenDoorTwoWays", "VehicleOpensDoorTwoWays"},
      {"MergeIntoSlowTraffic", "MergerIntoSlowTraffic"},
      {"ParkingCrossingPedestrain", "ParkingCrossingPedestrian"},
      {"VanillaNonSignalizedTurnEncouterStopsign", "VanillaNonSignalizedTurnEncounterStopsign"},
  };
  return aliases;
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
  const auto alias = scenario_aliases().find(scenario);
  const std::string& name = alias != scenario_aliases().end() ? alias->second : scenario;
  std::vector<std::string> result;
  for (const auto& [ability, scenarios] : ability_table()) {
    if (std::find(scenarios.begin(), scenarios.end(), name) != scenarios.end()) {
      result.push_back(ability);
    }
  }
  return result;
}

std::string scenario_of_clip(const std::string& clip_name) {
  const data::ClipInfo info = data::parse_clip_name(clip_name);
  if (info.name_parsed) return info.scenario;
  // Scenario names have no underscore, so the part before the first one is the scenario even
  // when the rest is cut short (VehicleTurningRoutePedestrian_Town15_Route523_Weathe).
  return clip_name.substr(0, clip_name.find('_'));
}

std::vector<std::string> abilities_of_clip(const std::string& clip_name) {
  return abilities_of_scenario(scenario_of_clip(clip_name));
}

}  // namespace rsd::eval
