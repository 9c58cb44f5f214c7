// Weights to and from Python (docs/model.md): the dict rsd_export writes read back bit for bit,
// the strict load behind model.init_weights (every name, no other, same shapes), and the pipeline's
// two sources of exported weights (a checkpoint, a config's initial model).
#include <gtest/gtest.h>
#include <torch/optim/sgd.h>
#include <torch/torch.h>

#include <set>
#include <sstream>
#include <string>

#include "rsd/config/config.h"
#include "rsd/model/weights.h"
#include "rsd/pipeline/model_weights.h"
#include "rsd/train/checkpoint.h"
#include "rsd/util/error.h"
#include "support/temp_dir.h"
#include "support/tiny_e2e.h"

namespace {

using rsd::model::NamedTensors;

// A tiny model whose buffers are off their initial values, so that they are checked too.
rsd::model::E2EModel tiny_model(uint64_t seed) {
  torch::manual_seed(seed);
  rsd::model::E2EModel model(rsd::test::tiny_e2e_model_options());
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : rsd::model::named_tensors_of(*model)) {
    if (name.find("running_mean") != std::string::npos) tensor.normal_();
    if (name.find("num_batches_tracked") != std::string::npos) tensor.fill_(7);
  }
  return model;
}

std::set<std::string> names_of(const NamedTensors& tensors) {
  std::set<std::string> names;
  for (const auto& entry : tensors) names.insert(entry.first);
  return names;
}

void expect_bit_identical(const NamedTensors& actual, const NamedTensors& expected) {
  ASSERT_EQ(names_of(actual), names_of(expected));
  for (const auto& [name, tensor] : expected) {
    EXPECT_EQ(actual.at(name).scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(actual.at(name), tensor)) << name;
  }
}

std::string refusal(torch::nn::Module& module, const NamedTensors& tensors) {
  try {
    rsd::model::load_named_tensors_strict(module, tensors, "file.pt");
  } catch (const rsd::CheckpointError& error) {
    return error.what();
  }
  ADD_FAILURE() << "a file that does not fit the model was accepted";
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string first_name_starting(const NamedTensors& tensors, const std::string& prefix) {
  for (const auto& entry : tensors) {
    if (entry.first.rfind(prefix, 0) == 0) return entry.first;
  }
  ADD_FAILURE() << "no tensor named " << prefix << "...";
  return prefix;
}

// The model of test_pipeline.sh, small.
const char* kTinyConfig = R"(
data:
  image: {height: 64, width: 176}
  grid: {x: [-16.0, 16.0, 1.0], y: [-16.0, 16.0, 1.0], z: [-5.0, 3.0, 8.0]}
model:
  image_encoder: {depth: 18, width: 8, out_channels: 16}
  lift: {depth_bins: [1.0, 33.0, 2.0], context_channels: 8}
  bev_encoder: {channels: 16, blocks: [1, 1], out_channels: 16}
  detection_head: {hidden: 16}
  planning_head: {hidden: 32, heads: 4}
  risk_head: {hidden: 16}
)";

}  // namespace

TEST(ModelWeights, AWrittenDictReadsBackBitIdenticalWithEveryParameterAndBuffer) {
  rsd::test::TempDir dir;
  rsd::model::E2EModel model = tiny_model(1);
  const NamedTensors tensors = rsd::model::named_tensors_of(*model);
  std::set<std::string> expected_names;
  for (const auto& item : model->named_parameters()) expected_names.insert(item.key());
  for (const auto& item : model->named_buffers()) expected_names.insert(item.key());
  ASSERT_TRUE(expected_names.count("image_encoder.bn1.running_var"));

  const std::string path = dir.file("out/weights.pt");
  rsd::model::write_named_tensors(path, tensors);
  const NamedTensors read = rsd::model::read_named_tensors(path);
  EXPECT_EQ(names_of(read), expected_names);
  expect_bit_identical(read, tensors);

  // float16: the floating-point tensors converted, the integer counters kept.
  rsd::model::write_named_tensors(path, tensors, torch::kFloat16);
  const NamedTensors half = rsd::model::read_named_tensors(path);
  for (const auto& [name, tensor] : tensors) {
    const torch::Tensor& read_back = half.at(name);
    if (tensor.is_floating_point()) {
      EXPECT_EQ(read_back.scalar_type(), torch::kFloat16) << name;
      EXPECT_TRUE(torch::equal(read_back, tensor.to(torch::kFloat16))) << name;
    } else {
      EXPECT_EQ(read_back.scalar_type(), tensor.scalar_type()) << name;
      EXPECT_TRUE(torch::equal(read_back, tensor)) << name;
    }
  }
}

TEST(ModelWeights, StrictLoadCopiesEveryParameterAndBuffer) {
  rsd::model::E2EModel source = tiny_model(1);
  rsd::model::E2EModel target = tiny_model(2);
  const NamedTensors tensors = rsd::model::named_tensors_of(*source);
  ASSERT_FALSE(torch::equal(rsd::model::named_tensors_of(*target).at("lift.depth_net.weight"),
                            tensors.at("lift.depth_net.weight")));
  rsd::model::load_named_tensors_strict(*target, tensors, "file.pt");
  expect_bit_identical(rsd::model::named_tensors_of(*target), tensors);
}

TEST(ModelWeights, StrictLoadRefusesMissingUnexpectedAndReshapedTensorsLeavingTheModelUntouched) {
  rsd::model::E2EModel model = tiny_model(1);
  NamedTensors before;
  for (const auto& [name, tensor] : rsd::model::named_tensors_of(*model)) before[name] = tensor.clone();
  const NamedTensors other = rsd::model::named_tensors_of(*tiny_model(2));

  NamedTensors missing = other;
  const std::string planning_name = first_name_starting(other, "planning_head.");
  missing.erase(planning_name);
  std::string message = refusal(*model, missing);
  EXPECT_TRUE(contains(message, "file.pt")) << message;
  EXPECT_TRUE(contains(message, "missing 1: " + planning_name)) << message;

  NamedTensors extra = other;
  extra["risk_head.extra.weight"] = torch::zeros({3});
  message = refusal(*model, extra);
  EXPECT_TRUE(contains(message, "unexpected 1: risk_head.extra.weight")) << message;
  EXPECT_FALSE(contains(message, "missing")) << message;

  NamedTensors reshaped = other;
  reshaped["lift.depth_net.weight"] = torch::zeros({5, 2});
  message = refusal(*model, reshaped);
  std::ostringstream model_shape;
  model_shape << other.at("lift.depth_net.weight").sizes();
  EXPECT_TRUE(contains(message, "lift.depth_net.weight [5, 2] in the file, " + model_shape.str() +
                                    " in the model"))
      << message;

  expect_bit_identical(rsd::model::named_tensors_of(*model), before);
}

TEST(ModelWeights, InitWeightsSetEveryWeightOfTheConfigsModel) {
  rsd::test::TempDir dir;
  rsd::Config config = rsd::Config::parse(kTinyConfig, "tiny");
  torch::manual_seed(3);
  const NamedTensors initial = rsd::model::named_tensors_of(*rsd::pipeline::build_e2e_model(config));
  NamedTensors doubled;
  for (const auto& [name, tensor] : initial) {
    doubled[name] = tensor.is_floating_point() ? tensor * 2 : tensor + 1;
  }
  const std::string path = dir.file("doubled.pt");
  rsd::model::write_named_tensors(path, doubled);
  config.set("model.init_weights", path);
  expect_bit_identical(rsd::model::named_tensors_of(*rsd::pipeline::build_e2e_model(config)),
                       doubled);

  NamedTensors short_one = doubled;
  const std::string heatmap_name = first_name_starting(doubled, "detection_head.heatmap");
  short_one.erase(heatmap_name);
  rsd::model::write_named_tensors(path, short_one);
  try {
    rsd::pipeline::build_e2e_model(config);
    FAIL() << "a file without " << heatmap_name << " was accepted";
  } catch (const rsd::CheckpointError& error) {
    EXPECT_TRUE(contains(error.what(), path)) << error.what();
    EXPECT_TRUE(contains(error.what(), heatmap_name)) << error.what();
  }

  config.set("model.image_encoder.pretrained", path);
  EXPECT_THROW(rsd::pipeline::build_e2e_model(config), rsd::ConfigError);
}

TEST(ModelWeights, ACheckpointsWeightsAreItsModelsFromItsStoredConfig) {
  rsd::test::TempDir dir;
  const rsd::Config config = rsd::Config::parse(kTinyConfig, "tiny");
  torch::manual_seed(4);
  rsd::model::E2EModel model = rsd::pipeline::build_e2e_model(config);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : model->named_buffers()) {
      if (contains(item.key(), "running_var")) item.value().uniform_(0.5, 2.0);
    }
  }
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));
  rsd::train::TrainingProgress progress;
  progress.step = 5;
  progress.config_yaml = config.to_yaml();
  const std::string checkpoint =
      rsd::train::CheckpointManager(dir.file("checkpoints"), 1).save(progress, *model, optimizer, false);

  torch::manual_seed(11);
  const NamedTensors exported = rsd::pipeline::checkpoint_weights(checkpoint);
  expect_bit_identical(exported, rsd::model::named_tensors_of(*model));
  const torch::Tensor drawn_after = torch::rand({4});
  torch::manual_seed(11);
  EXPECT_TRUE(torch::equal(drawn_after, torch::rand({4})))
      << "reading a checkpoint's weights changed the caller's random numbers";

  progress.config_yaml = "";
  const std::string bare =
      rsd::train::CheckpointManager(dir.file("bare"), 1).save(progress, *model, optimizer, false);
  EXPECT_THROW(rsd::pipeline::checkpoint_weights(bare), rsd::CheckpointError);
}
