// Synthetic Bench2Drive clips: a procedural 3D world (roads, lane markings, kerbs, buildings,
// vehicles, pedestrians, cyclists, traffic lights and signs) driven by a rule-based expert that
// reacts to risk, rendered into Bench2Drive's camera rig and written in the real on-disk format
// (docs/data.md, "Clips, frames, splits"): <Scenario>_<Town>_Route<r>_Weather<w>/anno/NNNNN.json.gz
// and camera/rgb_*/NNNNN.jpg, so that everything that reads real clips reads these unchanged.
//
// Example:
//   rsd::data::synth::SynthOptions options;
//   options.out_dir = "data/synth";
//   options.clips = 8;
//   options.frames = 60;
//   options.width = 400;            // intrinsics follow the size: fx = W / (2 tan(fov / 2))
//   options.height = 225;
//   const auto summary = rsd::data::synth::write_synthetic_dataset(options);
//   // summary.split_file = "data/synth/train_val_split.json" ({"val": ["v1/<clip>", ...]})
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rsd::data::synth {

struct SynthOptions {
  std::string out_dir;          // one folder per clip is written here (created when absent)
  int clips = 4;                // number of clips
  int frames = 60;              // frames per clip, 10 Hz (Bench2Drive clips average ~147)
  uint64_t seed = 0;            // the same seed (and options) writes byte-identical files
  int width = 1600;             // image size of every camera; Bench2Drive: 1600 x 900
  int height = 900;
  int threads = 0;              // worker threads rendering and writing frames; 0: all cores
  int jpeg_quality = 20;        // Bench2Drive's cv2.imwrite quality
  bool top_down = true;         // also write camera/rgb_top_down (the debug BEV camera)
  bool depth_and_segmentation = false;  // also write camera/depth_*, semantic_*, instance_* PNGs
  bool quirks = false;          // sprinkle the real files' quirks: NaN theta, null speed
  std::vector<std::string> scenarios;   // scenario types to cycle through; empty: all supported
  double val_fraction = 0.2;    // share of clips listed under "val" in the split file
};

struct SynthClip {
  std::string name;             // <Scenario>_<Town>_Route<r>_Weather<w>
  std::string scenario;
  int frames = 0;
  bool val = false;             // listed in the split file's "val"
};

struct SynthSummary {
  std::vector<SynthClip> clips;
  std::string split_file;       // <out_dir>/train_val_split.json
  int64_t frames = 0;           // annotation files written
  int64_t images = 0;           // image files written (JPEG and PNG)
};

/// The name of the split file written at the root of out_dir.
constexpr const char* kSplitFileName = "train_val_split.json";

/// The Bench2Drive scenario types the generator can build, in the order clips cycle through them.
std::vector<std::string> supported_scenarios();

/// Called after each frame is written, from worker threads (calls are serialised).
using SynthProgress = std::function<void(int64_t frames_done, int64_t frames_total)>;

/// Writes options.clips clips of options.frames frames each into options.out_dir, plus the split
/// file. A clip is written into a hidden temporary folder and renamed into place when complete, so
/// an interrupted run never leaves a partial clip under its final name; an existing clip of the
/// same name is replaced. Throws rsd::ConfigError for invalid options (naming the option) and
/// rsd::Error when a file cannot be written (naming the path).
SynthSummary write_synthetic_dataset(const SynthOptions& options, const SynthProgress& progress = {});

}  // namespace rsd::data::synth
