// What the harnesses of libtorch readers (checkpoint, risk cache) share; apart from fuzz_input.h
// because the other harnesses are built without libtorch.
#pragma once

#include <torch/utils.h>

#include <string>

#include "fuzz_input.h"

namespace rsd::fuzz {

/// The LLVMFuzzerInitialize of a libtorch harness: RSD_FUZZ_WRITE_SEED (write_seed_if_asked),
/// then one intra-op thread, as parallel fuzzing jobs already keep every core busy.
inline int initialize_torch_harness(void (*write_seed)(const std::string& folder)) {
  write_seed_if_asked(write_seed);
  torch::set_num_threads(1);
  return 0;
}

}  // namespace rsd::fuzz
