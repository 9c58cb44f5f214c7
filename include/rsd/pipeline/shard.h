// Splitting an offline job (rsd_cache_risk, later rsd_drive) over N processes with no coordinator:
// each process is shard I of N and owns the items (clips, routes) whose name hashes to I. The
// hash (64-bit FNV-1a of the name, modulo N) is stable across machines, builds and runs, so N
// processes started anywhere, in any order, restarted or not, split the items the same way, and
// their outputs together are exactly what one process writes.
#pragma once

#include <string>

namespace rsd::pipeline {

struct Shard {
  int index = 0;  // I, in [0, count)
  int count = 1;  // N >= 1

  /// True when the item called `name` belongs to this shard.
  bool owns(const std::string& name) const;
  /// "shard I/N".
  std::string describe() const;
};

/// "I/N" -> Shard. Throws rsd::ConfigError naming `source` (the flag or the variables the text
/// came from) for anything else, N < 1 or I outside [0, N).
Shard parse_shard(const std::string& text, const std::string& source = "--shard");

/// The shard of this process: `flag` ("I/N", e.g. --shard) when not empty; else RANK/WORLD_SIZE
/// (torchrun) when set; else SLURM_PROCID/SLURM_NTASKS (srun) when set; else 0/1 (everything).
/// One of a pair of variables without the other, or a bad value, is a rsd::ConfigError naming it.
Shard shard_from(const std::string& flag);

}  // namespace rsd::pipeline
