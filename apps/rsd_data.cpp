// rsd_data: synthetic Bench2Drive-format clips and dataset inspection.
#include "common/app.h"
#include "rsd/util/error.h"

int main(int argc, char** argv) {
  CLI::App app("Bench2Drive data tools: write synthetic clips in the real format, inspect a "
               "dataset root.",
               "rsd_data");
  rsd::app::describe(app);
  app.require_subcommand(1);

  auto* synth = app.add_subcommand("synth", "write synthetic clips in the Bench2Drive format");
  std::string out;
  int clips = 4;
  int frames = 60;
  int64_t seed = 0;
  int width = 1600;
  int height = 900;
  synth->add_option("--out", out, "output folder (one folder per clip)")->required();
  synth->add_option("--clips", clips, "number of clips")->check(CLI::PositiveNumber);
  synth->add_option("--frames", frames, "frames per clip (10 Hz)")->check(CLI::PositiveNumber);
  synth->add_option("--seed", seed, "seed; the same seed writes the same clips");
  synth->add_option("--width", width, "image width (Bench2Drive: 1600)")->check(CLI::PositiveNumber);
  synth->add_option("--height", height, "image height (Bench2Drive: 900)")->check(CLI::PositiveNumber);

  auto* inspect = app.add_subcommand("inspect", "summarise a dataset root and list every problem");
  std::string root;
  std::string split_file;
  std::string split;
  bool json = false;
  inspect->add_option("--root", root, "folder holding the clip folders")->required();
  inspect->add_option("--split-file", split_file, "official split JSON {\"val\": [...]}");
  inspect->add_option("--split", split, "train or val")->check(CLI::IsMember({"train", "val"}));
  inspect->add_flag("--json", json, "print the summary as JSON");

  return rsd::app::run(app, argc, argv, [&]() -> int {
    throw rsd::Error("the data layer is not part of this build yet");
  });
}
