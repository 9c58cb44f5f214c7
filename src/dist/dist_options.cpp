#include "rsd/dist/dist_options.h"

#include <cstdlib>

#include "rsd/util/error.h"

namespace rsd::dist {
namespace {

// The integer in environment variable `name`, if set.
bool read_int_env(const char* name, int& value) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  const long parsed = std::strtol(text, &end, 10);
  if (*end != '\0' || parsed < 0 || parsed > 1 << 30) {
    throw ConfigError(std::string("environment variable ") + name + "='" + text +
                      "' must be a non-negative integer");
  }
  value = static_cast<int>(parsed);
  return true;
}

void validate(const DistOptions& o) {
  if (o.backend != "auto" && o.backend != "gloo" && o.backend != "nccl") {
    throw ConfigError("dist.backend '" + o.backend + "' is not known (valid: auto, gloo, nccl)");
  }
  if (o.world_size < 1) throw ConfigError("WORLD_SIZE must be at least 1");
  if (o.rank < 0 || o.rank >= o.world_size) {
    throw ConfigError("RANK " + std::to_string(o.rank) + " must lie in [0, WORLD_SIZE=" +
                      std::to_string(o.world_size) + ")");
  }
  if (o.master_port < 1 || o.master_port > 65535) {
    throw ConfigError("MASTER_PORT / dist.master_port " + std::to_string(o.master_port) +
                      " must lie in 1..65535");
  }
  if (!(o.timeout_s > 0.0)) throw ConfigError("dist.timeout_s must be positive");
  if (!(o.bucket_mb > 0.0)) throw ConfigError("dist.bucket_mb must be positive");
}

}  // namespace

DistOptions with_environment(DistOptions options) {
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') {
    options.master_addr = addr;
  }
  read_int_env("MASTER_PORT", options.master_port);
  read_int_env("WORLD_SIZE", options.world_size);
  read_int_env("RANK", options.rank);
  if (!read_int_env("LOCAL_RANK", options.local_rank)) options.local_rank = options.rank;
  validate(options);
  return options;
}

std::string resolve_backend(const std::string& backend, const c10::Device& device, bool nccl) {
  if (backend != "auto") return backend;
  return device.is_cuda() && nccl ? "nccl" : "gloo";
}

}  // namespace rsd::dist
