// Random draws that give the same numbers with every standard library (the std distributions are
// implementation-defined), so that a seed means the same augmentation everywhere.
#pragma once

#include <cstdint>
#include <random>

namespace rsd::data::detail {

/// Uniform in [low, high], from the top 53 bits of one draw.
inline double uniform(std::mt19937_64& rng, double low, double high) {
  const double unit = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
  return low + (high - low) * unit;
}

/// Uniform integer in [low, high] (one draw; the modulo bias is below 2^-40 for small ranges).
inline int64_t uniform_int(std::mt19937_64& rng, int64_t low, int64_t high) {
  if (high <= low) {
    rng();
    return low;
  }
  return low + static_cast<int64_t>(rng() % static_cast<uint64_t>(high - low + 1));
}

/// true with probability 1/2 (one draw).
inline bool coin(std::mt19937_64& rng) { return (rng() >> 63) != 0; }

}  // namespace rsd::data::detail
