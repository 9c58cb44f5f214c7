// One place for randomness. Every random decision in librsd derives its seed from the run seed and
// the identity of what it decides (rank, epoch, sample index, ...), never from a thread or a clock,
// so the same seed gives the same run whatever the thread count.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <random>

namespace rsd {

/// A well-mixed 64-bit seed from a base seed and the parts that identify one decision
/// (SplitMix64 over the sequence). Different parts give independent streams.
uint64_t derive_seed(uint64_t seed, std::initializer_list<uint64_t> parts);

/// A standard generator seeded with derive_seed(seed, parts).
std::mt19937_64 make_rng(uint64_t seed, std::initializer_list<uint64_t> parts);

/// Seeds libtorch's default generator and std::rand for this process (from seed and rank), and
/// asks libtorch for deterministic algorithms when `deterministic` is set: every op that has a
/// deterministic version uses it (cuDNN too, with its autotuner off) and an op that has none throws
/// rather than run nondeterministically. `deterministic` false asks for none of that (it does not
/// touch cudnn benchmark).
void seed_everything(uint64_t seed, int64_t rank = 0, bool deterministic = false);

}  // namespace rsd
