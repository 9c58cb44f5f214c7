// rsd_data synth: write synthetic clips in the Bench2Drive format.
#include "rsd/util/error.h"
#include "rsd_data/commands.h"

namespace rsd::app {

Command add_synth_command(CLI::App& app) {
  struct Flags {
    std::string out;
    int clips = 4;
    int frames = 60;
    int64_t seed = 0;
    int width = 1600;
    int height = 900;
  };
  auto flags = std::make_shared<Flags>();
  auto* synth = app.add_subcommand("synth", "write synthetic clips in the Bench2Drive format");
  synth->add_option("--out", flags->out, "output folder (one folder per clip)")->required();
  synth->add_option("--clips", flags->clips, "number of clips")->check(CLI::PositiveNumber);
  synth->add_option("--frames", flags->frames, "frames per clip (10 Hz)")->check(CLI::PositiveNumber);
  synth->add_option("--seed", flags->seed, "seed; the same seed writes the same clips");
  synth->add_option("--width", flags->width, "image width (Bench2Drive: 1600)")->check(CLI::PositiveNumber);
  synth->add_option("--height", flags->height, "image height (Bench2Drive: 900)")->check(CLI::PositiveNumber);
  return [flags]() -> int { throw Error("rsd_data synth is not part of this build yet"); };
}

}  // namespace rsd::app
