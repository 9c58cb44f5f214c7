// 64-bit FNV-1a as 16 lowercase hex digits (private to librsd): stable across platforms, builds
// and runs, unlike std::hash. Risk cache headers store it (settings_hash, the VLM teacher's
// prompt_hash), so its output must never change: a different digest would make every cache stale.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rsd {

inline std::string fnv1a_64_hex(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const unsigned char byte : text) {
    hash ^= byte;
    hash *= 1099511628211ull;
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) hex[static_cast<std::size_t>(i)] = kDigits[hash & 0xF];
  return hex;
}

}  // namespace rsd
