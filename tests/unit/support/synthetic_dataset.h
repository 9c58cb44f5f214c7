// The smallest synthetic dataset the whole-job tests (risk cache job, evaluation) run on.
#pragma once

#include <string>

#include "rsd/data/synth/synth.h"

namespace rsd::test {

/// Writes one synthetic clip of 3 frames with 128 x 72 camera images (no top-down camera) into
/// `out_dir`, on one thread; returns `out_dir`, the data.root of the dataset.
inline std::string write_small_synthetic_dataset(const std::string& out_dir) {
  data::synth::SynthOptions synth;
  synth.out_dir = out_dir;
  synth.clips = 1;
  synth.frames = 3;
  synth.width = 128;
  synth.height = 72;
  synth.threads = 1;
  synth.top_down = false;
  data::synth::write_synthetic_dataset(synth);
  return out_dir;
}

}  // namespace rsd::test
