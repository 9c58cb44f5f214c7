// rsd_eval: open-loop planning, perception and risk metrics on Bench2Drive splits.
#include <iostream>

#include "common/app.h"
#include "rsd/util/error.h"

int main(int argc, char** argv) {
  CLI::App app("Evaluate a trained model on a Bench2Drive split (real or synthetic clips).",
               "rsd_eval");
  rsd::app::describe(app);
  rsd::app::ConfigFlags flags;
  std::string checkpoint;
  std::string split = "val";
  std::string out;
  std::vector<std::string> compare;
  rsd::app::add_config_flags(app, flags, /*config_required=*/false);
  app.add_option("--checkpoint", checkpoint, "checkpoint file to evaluate");
  app.add_option("--split", split, "split to evaluate: train or val")->check(CLI::IsMember({"train", "val"}));
  app.add_option("--out", out, "output folder for metrics.json, report.md and pictures");
  app.add_option("--compare", compare, "write a side-by-side table of two evaluation folders")
      ->expected(2);

  return rsd::app::run(app, argc, argv, [&]() -> int {
    if (compare.empty() && flags.config.empty()) {
      throw rsd::ConfigError("--config is required (or --compare DIR_A DIR_B)");
    }
    if (!flags.config.empty()) {
      auto loaded = rsd::app::load_config(flags);
      if (flags.print_config) {
        std::cout << loaded.config.to_yaml();
        return 0;
      }
    }
    throw rsd::Error("evaluation is not part of this build yet; rsd_eval supports --print-config");
  });
}
