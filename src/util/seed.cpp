#include "rsd/util/seed.h"

#include <ATen/Context.h>
#include <torch/utils.h>

#include <cstdlib>

namespace rsd {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t derive_seed(uint64_t seed, std::initializer_list<uint64_t> parts) {
  uint64_t state = splitmix64(seed);
  for (const uint64_t part : parts) state = splitmix64(state ^ splitmix64(part + 0x632BE59BD9B4E019ULL));
  return state;
}

std::mt19937_64 make_rng(uint64_t seed, std::initializer_list<uint64_t> parts) {
  return std::mt19937_64(derive_seed(seed, parts));
}

void seed_everything(uint64_t seed, int64_t rank, bool deterministic) {
  const uint64_t process_seed = derive_seed(seed, {static_cast<uint64_t>(rank)});
  torch::manual_seed(process_seed);
  std::srand(static_cast<unsigned>(process_seed));
  at::Context& context = at::globalContext();
  // warn_only: an op without a deterministic version (on CUDA, bilinear upsampling's backward,
  // which the E2E model uses) warns once and runs, instead of stopping the first step.
  context.setDeterministicAlgorithms(deterministic, /*warn_only=*/true);
  context.setDeterministicCuDNN(deterministic);
  // cuDNN's autotuner may pick another convolution algorithm from one run to the next.
  if (deterministic) context.setBenchmarkCuDNN(false);
}

}  // namespace rsd
