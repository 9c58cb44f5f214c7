// rsd_twin_reference CONFIG OUT_DIR [key=value ...]: what the Python twin (tools/python/rsd_twin)
// is compared with. Builds CONFIG's E2E model (with the overrides; seeded with run.seed), gives its
// BatchNorms random statistics and affine terms (freshly initialised ones are the identity in eval
// mode, which would hide a mis-wired norm), and writes dicts {name: tensor} that Python's
// torch.load(weights_only=True) reads:
//   OUT_DIR/weights.pt  every parameter and buffer, named as rsd_export names them
//   OUT_DIR/batch.pt    images, intrinsics, img_aug, cam2ego, ego_status, command: rsd_bench's
//                       random batch (cameras evenly around the ego) of data.loader.batch_size
//   OUT_DIR/outputs.pt  the eval-mode outputs of forward_tensors on that batch: bev, depth,
//                       detection.heatmap, detection.regression, waypoints, risk_logits
//   OUT_DIR/model.json  the E2EModelOptions the model was built from (the sizes the weights do not
//                       carry: grid, image size, depth bins, heads, strides), as the twin reads them
// Exit 0 on success, 1 on an error (printed), 2 on usage.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/bench_model.h"
#include "rsd/geometry/grid_spec.h"
#include "rsd/model/weights.h"
#include "rsd/pipeline/model_config.h"
#include "rsd/util/error.h"

namespace {

// Random running statistics and affine terms for every BatchNorm: the twin must apply each one.
void randomise_batch_norms(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    auto* norm = module->as<torch::nn::BatchNorm2d>();
    if (norm == nullptr) continue;
    norm->running_mean.normal_(0.0, 0.1);
    norm->running_var.uniform_(0.5, 1.5);
    norm->weight.uniform_(0.5, 1.5);
    norm->bias.normal_(0.0, 0.1);
  }
}

nlohmann::json grid_json(const rsd::GridSpec& grid) {
  const auto axis = [](const rsd::GridAxis& a) { return nlohmann::json::array({a.min, a.max, a.step}); };
  return {{"x", axis(grid.x())}, {"y", axis(grid.y())}, {"z", axis(grid.z())}};
}

// The options by the C++ field names; the twin (rsd_twin.model.TwinOptions) reads this layout.
nlohmann::json options_json(const rsd::model::E2EModelOptions& o) {
  nlohmann::json j;
  j["image_encoder"] = {{"depth", o.image_encoder.depth()},
                        {"width", o.image_encoder.width()},
                        {"in_channels", o.image_encoder.in_channels()},
                        {"out_channels", o.image_encoder.out_channels()}};
  j["lift"] = {{"in_channels", o.lift.in_channels()},
               {"grid", grid_json(o.lift.grid())},
               {"image_height", o.lift.image_height()},
               {"image_width", o.lift.image_width()},
               {"depth_min", o.lift.depth_min()},
               {"depth_max", o.lift.depth_max()},
               {"depth_step", o.lift.depth_step()},
               {"depth_bins", o.lift.depth_bins()},
               {"context_channels", o.lift.context_channels()},
               {"stride", o.lift.stride()}};
  j["bev_encoder"] = {{"in_channels", o.bev_encoder.in_channels()},
                      {"channels", o.bev_encoder.channels()},
                      {"blocks", o.bev_encoder.blocks()},
                      {"out_channels", o.bev_encoder.out_channels()}};
  j["detection_head"] = nullptr;
  if (o.detection_head) {
    j["detection_head"] = {{"in_channels", o.detection_head->in_channels()},
                           {"num_classes", o.detection_head->num_classes()},
                           {"hidden", o.detection_head->hidden()}};
  }
  const auto& p = o.planning_head;
  j["planning_head"] = {{"bev_channels", p.bev_channels()}, {"grid", grid_json(p.grid())},
                        {"horizon", p.horizon()},           {"ego_status_dim", p.ego_status_dim()},
                        {"num_commands", p.num_commands()}, {"hidden", p.hidden()},
                        {"heads", p.heads()},               {"layers", p.layers()},
                        {"key_stride", p.key_stride()}};
  j["risk_head"] = nullptr;
  if (o.risk_head) {
    j["risk_head"] = {{"type", o.risk_head->type()},
                      {"in_channels", o.risk_head->in_channels()},
                      {"hidden", o.risk_head->hidden()},
                      {"layers", o.risk_head->layers()},
                      {"grid", grid_json(o.risk_head->grid())}};
  }
  j["risk_attention_alpha"] = nullptr;
  if (o.risk_attention_alpha) j["risk_attention_alpha"] = *o.risk_attention_alpha;
  return j;
}

rsd::model::NamedTensors eval_outputs(rsd::model::E2EModel& model, const rsd::data::Batch& batch) {
  torch::NoGradGuard no_grad;
  model->eval();
  const rsd::model::E2EOutput out =
      model->forward_tensors(batch.images, batch.intrinsics, batch.img_aug, batch.cam2ego,
                             batch.ego_status, batch.command);
  rsd::model::NamedTensors outputs{{"bev", out.bev},
                                   {"depth", out.depth},
                                   {"waypoints", out.waypoints}};
  if (out.detection.heatmap.defined()) {
    outputs["detection.heatmap"] = out.detection.heatmap;
    outputs["detection.regression"] = out.detection.regression;
  }
  if (out.risk_logits.defined()) outputs["risk_logits"] = out.risk_logits;
  return outputs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: rsd_twin_reference CONFIG OUT_DIR [key=value ...]\n";
    return 2;
  }
  try {
    rsd::Config config = rsd::bench::load_bench_config(argv[1]);
    for (int i = 3; i < argc; ++i) config.apply_override(argv[i]);
    const std::filesystem::path out_dir = argv[2];
    const auto batch_size = config.get<int64_t>("data.loader.batch_size");
    const auto seed = static_cast<uint64_t>(config.get<int64_t>("run.seed"));
    std::filesystem::create_directories(out_dir);

    torch::manual_seed(seed);
    rsd::model::E2EModel model(rsd::pipeline::e2e_model_options_from(config));
    randomise_batch_norms(*model);
    const rsd::data::Batch batch = rsd::bench::random_batch(config, batch_size, seed + 1);

    rsd::model::write_named_tensors((out_dir / "weights.pt").string(),
                                    rsd::model::named_tensors_of(*model));
    rsd::model::write_named_tensors((out_dir / "batch.pt").string(),
                                    {{"images", batch.images},
                                     {"intrinsics", batch.intrinsics},
                                     {"img_aug", batch.img_aug},
                                     {"cam2ego", batch.cam2ego},
                                     {"ego_status", batch.ego_status},
                                     {"command", batch.command}});
    const rsd::model::NamedTensors outputs = eval_outputs(model, batch);
    rsd::model::write_named_tensors((out_dir / "outputs.pt").string(), outputs);
    std::ofstream(out_dir / "model.json") << options_json(model->options()).dump(2) << "\n";
    std::cout << "wrote weights, a batch of " << batch_size << " and " << outputs.size()
              << " outputs to " << out_dir.string() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "rsd_twin_reference: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
