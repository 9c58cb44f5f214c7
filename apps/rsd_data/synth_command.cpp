// rsd_data synth: write synthetic clips in the Bench2Drive format.
#include <iostream>

#include "rsd/data/synth/synth.h"
#include "rsd/util/error.h"
#include "rsd/util/progress.h"
#include "rsd_data/commands.h"

namespace rsd::app {

Command add_synth_command(CLI::App& app) {
  struct Flags {
    data::synth::SynthOptions options;
    int64_t seed = 0;
    bool no_top_down = false;
    bool no_progress = false;
  };
  auto flags = std::make_shared<Flags>();
  data::synth::SynthOptions& o = flags->options;
  auto* synth = app.add_subcommand("synth", "write synthetic clips in the Bench2Drive format");
  synth->add_option("--out", o.out_dir, "output folder (one folder per clip)")->required();
  synth->add_option("--clips", o.clips, "number of clips")->check(CLI::PositiveNumber)->capture_default_str();
  synth->add_option("--frames", o.frames, "frames per clip (10 Hz)")->check(CLI::Range(1, 99999))->capture_default_str();
  synth->add_option("--seed", flags->seed, "seed; the same seed writes the same clips")->capture_default_str();
  synth->add_option("--width", o.width, "image width (Bench2Drive: 1600)")->check(CLI::Range(16, 8192))->capture_default_str();
  synth->add_option("--height", o.height, "image height (Bench2Drive: 900)")->check(CLI::Range(16, 8192))->capture_default_str();
  synth->add_option("--threads", o.threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber)->capture_default_str();
  synth->add_option("--scenario", o.scenarios,
                    "scenario type to generate (repeatable; default: cycle through all supported)");
  synth->add_option("--val-fraction", o.val_fraction, "share of clips listed as val in train_val_split.json")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  synth->add_option("--jpeg-quality", o.jpeg_quality, "JPEG quality (Bench2Drive: 20)")->check(CLI::Range(1, 100))->capture_default_str();
  synth->add_flag("--depth-seg", o.depth_and_segmentation, "also write depth_*, semantic_* and instance_* PNGs");
  synth->add_flag("--no-top-down", flags->no_top_down, "skip camera/rgb_top_down");
  synth->add_flag("--quirks", o.quirks, "write the real files' quirks now and then (NaN theta, null speed)");
  synth->add_flag("--no-progress", flags->no_progress, "print no progress bar");
  synth->footer("Scenarios: " + [] {
    std::string list;
    for (const std::string& name : data::synth::supported_scenarios()) list += (list.empty() ? "" : ", ") + name;
    return list;
  }());
  return [flags]() -> int {
    data::synth::SynthOptions options = flags->options;
    options.seed = static_cast<uint64_t>(flags->seed);
    options.top_down = !flags->no_top_down;
    ProgressOptions progress_options;
    progress_options.enabled = !flags->no_progress;
    ProgressBar bar("synth", static_cast<int64_t>(options.clips) * options.frames, progress_options);
    const data::synth::SynthSummary summary =
        data::synth::write_synthetic_dataset(options, [&](int64_t, int64_t) { bar.advance(); });
    bar.finish();
    int val = 0;
    for (const auto& clip : summary.clips) val += clip.val ? 1 : 0;
    std::cout << "wrote " << summary.clips.size() << " clips, " << summary.frames << " frames, " << summary.images
              << " images to " << options.out_dir << " (split: " << summary.split_file << ", " << val << " val)\n";
    return 0;
  };
}

}  // namespace rsd::app
