// Bench2Drive's five driving abilities and the scenarios that exercise each, as its
// tools/ability_benchmark.py groups them (Thinklab-SJTU/Bench2Drive). A clip's scenario is the
// first part of its folder name (data::parse_clip_name); a scenario may count for several
// abilities (Traffic_Signs overlaps Merging and Emergency_Brake) or for none (e.g. the
// synthetic data's plain clips).
#pragma once

#include <string>
#include <vector>

namespace rsd::eval {

/// "Merging", "Overtaking", "Emergency_Brake", "Give_Way", "Traffic_Signs" (Bench2Drive's keys).
const std::vector<std::string>& ability_names();

/// The abilities `scenario` (e.g. "ParkingCutIn") counts for, in ability_names() order; empty for
/// a scenario Bench2Drive does not list.
std::vector<std::string> abilities_of_scenario(const std::string& scenario);

/// The abilities of a clip folder name ("<Scenario>_<Town>_Route<r>_Weather<w>").
std::vector<std::string> abilities_of_clip(const std::string& clip_name);

}  // namespace rsd::eval
