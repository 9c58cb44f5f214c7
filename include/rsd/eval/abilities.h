// Bench2Drive's five driving abilities and the scenarios that exercise each, as its
// tools/ability_benchmark.py groups them (Thinklab-SJTU/Bench2Drive). A clip's scenario is the
// first part of its folder name (scenario_of_clip); a scenario may count for several abilities
// (Traffic_Signs overlaps Merging and Emergency_Brake) or for none (e.g. the synthetic data's
// plain clips). The dataset's own spellings (TJunction, LaneChange) and the table's former
// misspellings map to the table's names.
#pragma once

#include <string>
#include <vector>

namespace rsd::eval {

/// "Merging", "Overtaking", "Emergency_Brake", "Give_Way", "Traffic_Signs" (Bench2Drive's keys).
const std::vector<std::string>& ability_names();

/// The abilities `scenario` (e.g. "ParkingCutIn", or the dataset's "TJunction") counts for, in
/// ability_names() order; empty for a scenario Bench2Drive does not list.
std::vector<std::string> abilities_of_scenario(const std::string& scenario);

/// The scenario of a clip folder name: <Scenario> of "<Scenario>_<Town>_Route<r>_Weather<w>", and
/// for a name that does not follow the grammar (one Base archive is cut short:
/// "VehicleTurningRoutePedestrian_Town15_Route523_Weathe") the part before its first '_'.
std::string scenario_of_clip(const std::string& clip_name);

/// The abilities of a clip folder name: abilities_of_scenario(scenario_of_clip(clip_name)).
std::vector<std::string> abilities_of_clip(const std::string& clip_name);

}  // namespace rsd::eval
