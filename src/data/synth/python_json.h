// Bytes as Python writes them: json.dump(obj, f, indent=4) (repr() of floats, NaN/Infinity tokens,
// insertion-ordered keys) inside gzip.open(path, 'wt') (gzip level 9, FNAME header). Bench2Drive's
// annotations are produced this way; writing the same bytes keeps every reader honest.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace rsd::data::synth {

/// Python's repr(float): shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16,
/// otherwise d.ddde+XX; "NaN", "Infinity", "-Infinity" as json.dump writes them.
std::string python_float_repr(double value);

/// json.dumps(value, indent=4): one value per line, ", " never used, ": " between key and value.
std::string python_json_dump(const nlohmann::ordered_json& value, int indent = 4);

/// A gzip member as Python's gzip module writes it (level 9, XFL 2, OS 255, FNAME = inner_name),
/// with MTIME 0 so that the same contents give the same bytes.
std::string gzip_like_python(const std::string& contents, const std::string& inner_name);

}  // namespace rsd::data::synth
