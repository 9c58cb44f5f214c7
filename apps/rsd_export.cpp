// rsd_export: a model's weights as a dict {name: tensor} that Python's torch.load reads
// (docs/model.md, "Weights to and from Python"); the way back is model.init_weights.
//   rsd_export --checkpoint runs/x/checkpoints/step_N.pt --out weights.pt
//   rsd_export --config X [--set k=v ...] --out weights.pt    (X's model as built, init weights loaded)
//              [--dtype float32|float16|bfloat16] [--manifest weights.json]
#include <iostream>

#include "common/app.h"
#include "rsd/model/weights.h"
#include "rsd/pipeline/model_weights.h"
#include "rsd/util/error.h"

int main(int argc, char** argv) {
  CLI::App app("Export a model's parameters and buffers as a dict {name: tensor} for Python's "
               "torch.load.",
               "rsd_export");
  rsd::app::describe(app);
  rsd::app::ConfigFlags flags;
  std::string checkpoint;
  std::string out;
  std::string dtype = "float32";
  std::string manifest;
  rsd::app::add_config_flags(app, flags, /*config_required=*/false);
  app.add_option("--checkpoint", checkpoint,
                 "checkpoint whose model to export (built from the config it stores)");
  app.add_option("--out", out, "weights file to write (torch.load returns a dict of tensors)");
  app.add_option("--dtype", dtype, "dtype of the floating-point tensors (default: float32)")
      ->check(CLI::IsMember({"float32", "float16", "bfloat16"}));
  app.add_option("--manifest", manifest,
                 "also write each tensor's name, dtype, shape and sum as JSON to this file");

  return rsd::app::run(app, argc, argv, [&]() -> int {
    if (checkpoint.empty() == flags.config.empty()) {
      throw rsd::ConfigError("give either --checkpoint (a trained model) or --config (the model "
                             "that config describes, as built with its initial weights)");
    }
    if (out.empty() && !flags.print_config) throw rsd::ConfigError("--out is required");
    rsd::model::NamedTensors tensors;
    if (!checkpoint.empty()) {
      tensors = rsd::pipeline::checkpoint_weights(checkpoint);
    } else {
      auto loaded = rsd::app::load_config(flags);  // also seeds, as training does
      if (flags.print_config) {
        std::cout << loaded.config.to_yaml();
        return 0;
      }
      tensors = rsd::model::named_tensors_of(*rsd::pipeline::build_e2e_model(loaded.config));
    }
    const torch::Dtype float_dtype = rsd::pipeline::float_dtype_from(dtype);
    rsd::model::write_named_tensors(out, tensors, float_dtype);
    if (!manifest.empty()) {
      // From the model's tensors (in --dtype), not from the file: a reader of the file is checked
      // against the model.
      rsd::model::NamedTensors described;
      for (const auto& [name, tensor] : tensors) {
        described[name] = tensor.is_floating_point() ? tensor.to(float_dtype) : tensor;
      }
      rsd::pipeline::write_weights_manifest(manifest, described);
    }
    std::cout << "wrote " << tensors.size() << " tensors to " << out << "\n";
    return 0;
  });
}
