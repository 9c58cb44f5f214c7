// The byte layout of a risk cache file (docs/teachers.md has the table), shared by the whole-file
// reader/writer (risk_cache.cpp) and the random-access reader (risk_cache_reader.cpp).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "rsd/teacher/risk_cache.h"

namespace rsd::teacher::detail {

constexpr char kRiskCacheMagic[8] = {'R', 'S', 'D', 'R', 'I', 'S', 'K', '\0'};
constexpr uint64_t kFixedHeaderBytes = 104;  // magic .. meta_bytes
constexpr uint64_t kFrameEntryBytes = 40;

struct FrameTableEntry {
  int32_t frame = 0;
  uint32_t status = 0;
  uint64_t map_offset = 0, map_bytes = 0, record_offset = 0, record_bytes = 0;
};

struct CacheIndex {
  RiskCacheHeader header;
  uint32_t ny = 0, nx = 0;
  std::vector<FrameTableEntry> table;
};

/// Reads `size` bytes at `offset` of the file, throwing when they are not all there.
using ByteReader = std::function<std::string(uint64_t offset, uint64_t size)>;

/// A ByteReader over a binary stream (kept open by the caller); not thread-safe.
ByteReader stream_reader(std::istream& in, const std::string& path);

/// The header and frame table of the file at `path`, whose bytes `read` returns. Checks the magic
/// and the format version before anything else; errors name the file.
CacheIndex read_cache_index(const std::string& path, const ByteReader& read);

/// Refuses a cache built for another grid (rsd::DataError naming the file and both grids).
void check_grid(const RiskCacheHeader& header, const GridSpec& expected, const std::string& path);

/// A stored map blob -> float (ny, nx).
torch::Tensor decode_map(const std::string& blob, uint32_t ny, uint32_t nx, const std::string& path,
                         int frame);

/// A stored record blob -> the frame without its map.
CachedFrame decode_record(const std::string& blob, const std::string& path, int frame);

}  // namespace rsd::teacher::detail
