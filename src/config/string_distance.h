// Edit distance, to suggest the closest valid name for a misspelled one. Private to librsd.
#pragma once

#include <string>
#include <vector>

namespace rsd::detail {

/// Levenshtein distance (insertions, deletions, substitutions each cost 1).
std::size_t edit_distance(const std::string& a, const std::string& b);

/// The candidate closest to `name` (the first on ties); "" when there are no candidates.
std::string closest_match(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace rsd::detail
