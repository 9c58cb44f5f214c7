// rsd_eval: open-loop planning, perception and risk metrics on Bench2Drive splits.
//   rsd_eval --config X --checkpoint C [--split val] [--out DIR] [--model-from checkpoint|config]
//            [--set k=v ...]
//   rsd_eval --compare DIR_A DIR_B [--out FILE]   (with --out, also FILE_curves.png)
#include <filesystem>
#include <iostream>

#include "common/app.h"
#include "rsd/eval/report.h"
#include "rsd/eval/training_curves.h"
#include "rsd/pipeline/evaluation_job.h"
#include "rsd/util/error.h"

int main(int argc, char** argv) {
  CLI::App app("Evaluate a trained model on a Bench2Drive split (real or synthetic clips).",
               "rsd_eval");
  rsd::app::describe(app);
  rsd::app::ConfigFlags flags;
  std::string checkpoint;
  std::string split;
  std::string out;
  std::string model_from = "checkpoint";
  std::vector<std::string> compare;
  rsd::app::add_config_flags(app, flags, /*config_required=*/false);
  app.add_option("--checkpoint", checkpoint, "checkpoint file to evaluate");
  app.add_option("--split", split, "split to evaluate: train, val or all (default: eval.split)")
      ->check(CLI::IsMember({"train", "val", "all"}));
  app.add_option("--out", out,
                 "output folder for metrics.json, report.md and pictures (default: "
                 "runs/<name>/eval/<split> beside the checkpoints); with --compare, the table file "
                 "(default: standard output) and beside it <stem>_curves.png, the training "
                 "curves of the runs whose metrics.jsonl is in or up to three folders above the "
                 "compared ones");
  app.add_option("--model-from", model_from,
                 "where model.*, data.image, data.grid and data.waypoints (the network's sizes and "
                 "inputs) come from: checkpoint (default: the run's config stored in the "
                 "checkpoint; the --config file's values are replaced, --set overrides win) or "
                 "config (--config and --set as given)")
      ->check(CLI::IsMember({"checkpoint", "config"}));
  app.add_option("--compare", compare,
                 "write a side-by-side table of two evaluation folders (and, with --out, their "
                 "runs' training curves overlaid)")
      ->expected(2);

  return rsd::app::run(app, argc, argv, [&]() -> int {
    if (!compare.empty()) {
      if (!flags.config.empty() || !checkpoint.empty()) {
        throw rsd::ConfigError(
            "--compare takes two evaluation folders and no --config/--checkpoint");
      }
      const std::string table = rsd::eval::compare_reports(compare[0], compare[1], out);
      if (out.empty()) {
        std::cout << table;
        return 0;
      }
      std::cout << "comparison written to " << out << "\n";
      // The runs' training curves beside the table: compare.md -> compare_curves.png.
      const std::string curves =
          std::filesystem::path(out).replace_extension("").string() + "_curves.png";
      if (rsd::eval::draw_compared_training_curves(compare, curves)) {
        std::cout << "training curves written to " << curves << "\n";
      }
      return 0;
    }
    if (flags.config.empty()) {
      throw rsd::ConfigError("--config is required (or --compare DIR_A DIR_B)");
    }
    auto loaded = rsd::app::load_config(flags);
    if (flags.print_config) {
      std::cout << loaded.config.to_yaml();
      return 0;
    }
    if (checkpoint.empty()) throw rsd::ConfigError("--checkpoint is required to evaluate");
    const rsd::pipeline::EvalSummary summary = rsd::pipeline::run_evaluation(
        loaded.config, {checkpoint, split, out,
                        model_from == "config" ? rsd::pipeline::ModelSource::config
                                               : rsd::pipeline::ModelSource::checkpoint});
    std::cout << "report: " << summary.report_path << "\n";
    return 0;
  });
}
