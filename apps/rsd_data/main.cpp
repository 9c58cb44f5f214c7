// rsd_data: synthetic Bench2Drive-format clips and dataset inspection.
#include "common/app.h"
#include "rsd_data/commands.h"

int main(int argc, char** argv) {
  CLI::App app("Bench2Drive data tools: write synthetic clips in the real format, inspect a "
               "dataset root.",
               "rsd_data");
  rsd::app::describe(app);
  app.require_subcommand(1);
  const rsd::app::Command synth = rsd::app::add_synth_command(app);
  const rsd::app::Command inspect = rsd::app::add_inspect_command(app);
  return rsd::app::run(app, argc, argv, [&]() -> int {
    return app.got_subcommand("synth") ? synth() : inspect();
  });
}
