#include "rsd/pipeline/shard.h"

#include <cstdint>
#include <cstdlib>

#include "rsd/util/error.h"
#include "util/fnv1a.h"

namespace rsd::pipeline {
namespace {

// A whole non-negative decimal number, or -1 (std::stoi would take "2x" and " 2").
long long parse_count(const std::string& text) {
  if (text.empty() || text.size() > 9) return -1;
  long long value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

Shard checked(long long index, long long count, const std::string& text, const std::string& source) {
  if (index < 0 || count < 0) {
    throw ConfigError(source + ": '" + text + "' is not a shard I/N (two whole numbers, 0 <= I < N)");
  }
  if (count < 1) throw ConfigError(source + ": '" + text + "' has N = 0 shards; N must be >= 1");
  if (index >= count) {
    throw ConfigError(source + ": '" + text + "' names shard " + std::to_string(index) + " of " +
                      std::to_string(count) + "; shards are numbered 0 to " +
                      std::to_string(count - 1));
  }
  return Shard{static_cast<int>(index), static_cast<int>(count)};
}

// The pair of variables `index_var`/`count_var`; false when neither is set.
bool shard_from_variables(const char* index_var, const char* count_var, Shard& shard) {
  const char* index = std::getenv(index_var);
  const char* count = std::getenv(count_var);
  if (index == nullptr && count == nullptr) return false;
  const std::string source = std::string("the environment variables ") + index_var + "/" + count_var;
  if (index == nullptr || count == nullptr) {
    throw ConfigError(source + ": " + (index == nullptr ? index_var : count_var) +
                      " is not set while " + (index == nullptr ? count_var : index_var) +
                      " is; set both, or pass --shard I/N");
  }
  const std::string text = std::string(index) + "/" + count;
  shard = checked(parse_count(index), parse_count(count), text, source);
  return true;
}

}  // namespace

bool Shard::owns(const std::string& name) const {
  if (count <= 1) return true;
  const std::uint64_t hash = std::strtoull(fnv1a_64_hex(name).c_str(), nullptr, 16);
  return hash % static_cast<std::uint64_t>(count) == static_cast<std::uint64_t>(index);
}

std::string Shard::describe() const {
  return "shard " + std::to_string(index) + "/" + std::to_string(count);
}

Shard parse_shard(const std::string& text, const std::string& source) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return checked(-1, -1, text, source);
  return checked(parse_count(text.substr(0, slash)), parse_count(text.substr(slash + 1)), text,
                 source);
}

Shard shard_from(const std::string& flag) {
  if (!flag.empty()) return parse_shard(flag, "--shard");
  Shard shard;
  if (shard_from_variables("RANK", "WORLD_SIZE", shard)) return shard;
  if (shard_from_variables("SLURM_PROCID", "SLURM_NTASKS", shard)) return shard;
  return shard;
}

}  // namespace rsd::pipeline
