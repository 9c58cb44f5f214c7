// The model's modules: output shapes, gradients reaching every parameter, pretrained weights round
// trips, detection targets and decoding, the RiskHead registry and plug-in (the converters from a
// config: test_pipeline.cpp).
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/model/bev_encoder.h"
#include "rsd/model/detection_head.h"
#include "rsd/model/detection_targets.h"
#include "rsd/model/e2e_model.h"
#include "rsd/model/gt_boxes.h"
#include "rsd/model/image_encoder.h"
#include "rsd/model/planning_head.h"
#include "rsd/model/positional_encoding.h"
#include "rsd/model/risk_head.h"
#include "rsd/model/weights.h"
#include "rsd/pipeline/model_config.h"
#include "rsd/util/error.h"
#include "support/fixtures.h"
#include "support/temp_dir.h"
#include "support/tiny_e2e.h"

namespace {

using namespace rsd::model;
using rsd::GridSpec;
using rsd::data::Box;
using rsd::data::ObjectClass;
using rsd::test::make_box;
using rsd::test::tiny_grid;

// Backpropagates a fixed random weighting of `outputs` (a plain sum can have an exactly zero
// gradient through normalisation layers) and expects every trainable parameter to get a defined,
// non-zero gradient.
void expect_gradients_reach_every_parameter(torch::nn::Module& module,
                                            const std::vector<torch::Tensor>& outputs) {
  module.zero_grad();
  torch::Tensor objective = torch::zeros({});
  for (const auto& output : outputs) {
    objective = objective + (output * torch::rand_like(output)).sum();
  }
  objective.backward();
  int64_t checked = 0;
  for (const auto& item : module.named_parameters()) {
    const torch::Tensor& parameter = item.value();
    if (!parameter.defined() || !parameter.requires_grad()) continue;
    ++checked;
    ASSERT_TRUE(parameter.grad().defined()) << item.key();
    EXPECT_GT(parameter.grad().abs().sum().item<double>(), 0.0) << item.key();
  }
  EXPECT_GT(checked, 0);
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.parameters()) count += parameter.numel();
  return count;
}

// ---------------------------------------------------------------- ImageEncoder

TEST(ModelImageEncoder, ResNet18OutputsStride16AndEveryParameterLearns) {
  torch::manual_seed(0);
  ImageEncoder encoder(ImageEncoderOptions().depth(18).width(8).out_channels(16));
  const torch::Tensor images = torch::randn({2, 3, 64, 90});
  const torch::Tensor features = encoder(images);
  EXPECT_EQ(features.sizes(), (std::vector<int64_t>{2, 16, 4, 6}));  // ceil(90 / 16) = 6
  expect_gradients_reach_every_parameter(*encoder, {features});
}

TEST(ModelImageEncoder, ResNet50UsesBottlenecksWithTorchvisionNames) {
  torch::manual_seed(0);
  ImageEncoder encoder(ImageEncoderOptions().depth(50).width(4).out_channels(8));
  // 64 x 64 pixels: layer4 (stride 32) still has more than one value per channel for BatchNorm.
  EXPECT_EQ(encoder(torch::randn({1, 3, 64, 64})).sizes(), (std::vector<int64_t>{1, 8, 4, 4}));
  const NamedTensors named = named_tensors_of(*encoder);
  for (const char* name : {"conv1.weight", "bn1.running_mean", "layer1.0.conv3.weight",
                           "layer1.0.downsample.0.weight", "layer1.0.downsample.1.bias",
                           "layer4.2.bn3.num_batches_tracked"}) {
    EXPECT_EQ(named.count(name), 1u) << name;
  }
  EXPECT_EQ(named.at("layer4.2.conv3.weight").size(0), 4 * 8 * 4);  // planes * expansion
}

TEST(ModelImageEncoder, FrozenStagesDoNotLearnAndKeepBatchNormStatistics) {
  torch::manual_seed(0);
  ImageEncoder encoder(ImageEncoderOptions().depth(18).width(8).out_channels(8).frozen_stages(2));
  for (const auto& item : encoder->named_parameters()) {
    const bool frozen = item.key().rfind("conv1.", 0) == 0 || item.key().rfind("bn1.", 0) == 0 ||
                        item.key().rfind("layer1.", 0) == 0;
    EXPECT_EQ(item.value().requires_grad(), !frozen) << item.key();
  }
  encoder->train();
  const NamedTensors before = named_tensors_of(*encoder);
  const torch::Tensor stem_mean = before.at("bn1.running_mean").clone();
  const torch::Tensor layer1_mean = before.at("layer1.1.bn2.running_mean").clone();
  const torch::Tensor layer2_mean = before.at("layer2.0.bn1.running_mean").clone();
  encoder(torch::randn({2, 3, 32, 32}) * 3.0 + 1.0);
  EXPECT_TRUE(torch::equal(stem_mean, before.at("bn1.running_mean")));
  EXPECT_TRUE(torch::equal(layer1_mean, before.at("layer1.1.bn2.running_mean")));
  EXPECT_FALSE(torch::equal(layer2_mean, before.at("layer2.0.bn1.running_mean")));
}

TEST(ModelImageEncoder, WeightsSavedAsADictOrAnArchiveReloadIntoAFreshEncoder) {
  rsd::test::TempDir dir;
  const auto options = ImageEncoderOptions().depth(18).width(8).out_channels(8);
  torch::manual_seed(1);
  ImageEncoder source(options);
  // Move the BN statistics off their initial values so that buffers matter too.
  source->train();
  source(torch::randn({2, 3, 32, 32}) * 2.0 + 0.5);
  source->eval();
  const torch::Tensor images = torch::randn({1, 3, 32, 48});
  const torch::Tensor expected = source(images);

  // A name -> tensor dict, the format torch.save writes from Python (docs/model.md).
  c10::Dict<std::string, torch::Tensor> dict, backbone_only;
  for (const auto& [name, tensor] : named_tensors_of(*source)) {
    dict.insert(name, tensor);
    if (name.rfind("lateral", 0) != 0 && name.rfind("fuse.", 0) != 0) {
      backbone_only.insert(name, tensor);
    }
  }
  dict.insert("fc.weight", torch::zeros({10, 64}));  // torchvision's classifier: ignored
  const std::vector<char> bytes = torch::pickle_save(dict);
  const std::string dict_path = dir.write("encoder.pt", std::string(bytes.begin(), bytes.end()));

  torch::manual_seed(2);
  ImageEncoder from_dict(ImageEncoderOptions(options).pretrained(dict_path));
  from_dict->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(from_dict(images), expected));

  // torchvision's files have no FPN: it keeps its initialisation, reported missing.
  const std::vector<char> backbone_bytes = torch::pickle_save(backbone_only);
  const std::string backbone_path =
      dir.write("resnet18.pt", std::string(backbone_bytes.begin(), backbone_bytes.end()));
  const WeightsLoadReport partial = ImageEncoder(options)->load_pretrained(backbone_path);
  ASSERT_FALSE(partial.missing.empty());
  for (const auto& name : partial.missing) {
    EXPECT_TRUE(name.rfind("lateral", 0) == 0 || name.rfind("fuse.", 0) == 0) << name;
  }

  const std::string archive_path = dir.file("encoder.pt");
  torch::save(source, archive_path);
  torch::manual_seed(3);
  ImageEncoder from_archive(options);
  const WeightsLoadReport report = from_archive->load_pretrained(archive_path);
  EXPECT_TRUE(report.missing.empty());
  EXPECT_TRUE(report.unexpected.empty());
  from_archive->eval();
  EXPECT_TRUE(torch::allclose(from_archive(images), expected));
}

TEST(ModelImageEncoder, PretrainedFilesLackingTensorsOrWithOtherShapesAreRefused) {
  rsd::test::TempDir dir;
  torch::manual_seed(0);
  ImageEncoder encoder(ImageEncoderOptions().depth(18).width(8).out_channels(8));
  c10::Dict<std::string, torch::Tensor> partial;
  partial.insert("conv1.weight", named_tensors_of(*encoder).at("conv1.weight"));
  auto bytes = torch::pickle_save(partial);
  const std::string partial_path = dir.write("partial.pt", std::string(bytes.begin(), bytes.end()));
  try {
    encoder->load_pretrained(partial_path);
    FAIL() << "a file without layer1 was accepted";
  } catch (const rsd::CheckpointError& error) {
    EXPECT_NE(std::string(error.what()).find("layer1.0.conv1.weight"), std::string::npos)
        << error.what();
  }
  c10::Dict<std::string, torch::Tensor> wrong;
  wrong.insert("conv1.weight", torch::zeros({64, 3, 7, 7}));
  bytes = torch::pickle_save(wrong);
  const std::string wrong_path = dir.write("wrong.pt", std::string(bytes.begin(), bytes.end()));
  try {
    encoder->load_pretrained(wrong_path);
    FAIL() << "a conv1 of another width was accepted";
  } catch (const rsd::CheckpointError& error) {
    const std::string text = error.what();
    EXPECT_NE(text.find("conv1.weight"), std::string::npos) << text;
    EXPECT_NE(text.find("[64, 3, 7, 7]"), std::string::npos) << text;
  }
  const std::string junk = dir.write("junk.pt", "not a weights file");
  EXPECT_THROW(read_named_tensors(junk), rsd::CheckpointError);
}

TEST(ModelImageEncoder, ReadsADictInTheLayoutOfPythonsTorchSave) {
  // Written by tests/unit/data/make_torch_save_dict.py in torch.save's zip layout (docs/model.md's
  // conversion snippet saves such a dict).
  const NamedTensors tensors =
      read_named_tensors(std::string(RSD_SOURCE_DIR) + "/tests/unit/data/torch_save_dict.pt");
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_TRUE(torch::equal(tensors.at("conv1.weight"),
                           torch::arange(6, torch::kFloat).view({2, 3}) * 0.5));
  const torch::Tensor& tracked = tensors.at("bn1.num_batches_tracked");
  EXPECT_EQ(tracked.dim(), 0);
  EXPECT_EQ(tracked.scalar_type(), torch::kLong);
  EXPECT_EQ(tracked.item<int64_t>(), 7);
}

TEST(ModelImageEncoder, SaysHowToSaveAStateDictThatIsAnOrderedDict) {
  // Written by PyPI torch 2.x: torch.save(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
  // .state_dict(), path), an OrderedDict with _metadata, which libtorch's unpickler cannot rebuild.
  const std::string path =
      std::string(RSD_SOURCE_DIR) + "/tests/unit/data/torch_save_state_dict.pt";
  try {
    read_named_tensors(path);
    FAIL() << "an OrderedDict state dict must be refused";
  } catch (const rsd::CheckpointError& error) {
    const std::string text = error.what();
    EXPECT_NE(text.find(path), std::string::npos) << text;
    EXPECT_NE(text.find("torch.save(dict(model.state_dict())"), std::string::npos) << text;
  }
}

// ---------------------------------------------------------------- BevEncoder

TEST(ModelBevEncoder, ReturnsToTheGridResolutionForOddSizesAndEveryParameterLearns) {
  torch::manual_seed(0);
  BevEncoder encoder(BevEncoderOptions(12).channels(8).blocks({1, 1, 1}).out_channels(16));
  const torch::Tensor bev = torch::randn({2, 12, 15, 17});
  const torch::Tensor out = encoder(bev);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 16, 15, 17}));
  expect_gradients_reach_every_parameter(*encoder, {out});

  BevEncoder no_full_resolution_blocks(BevEncoderOptions(12).channels(8).blocks({0, 2}));
  EXPECT_EQ(no_full_resolution_blocks(bev).sizes(), (std::vector<int64_t>{2, 128, 15, 17}));
  EXPECT_THROW(BevEncoder(BevEncoderOptions(12).blocks({2, 0})), rsd::Error);
}

// ---------------------------------------------------------------- DetectionHead

TEST(ModelDetectionHead, OutputsPerClassHeatmapsAndTheBoxCodeAndEveryParameterLearns) {
  torch::manual_seed(0);
  DetectionHead head(DetectionHeadOptions(8, 3).hidden(8));
  const DetectionOutput out = head(torch::randn({2, 8, 16, 16}));
  EXPECT_EQ(out.heatmap.sizes(), (std::vector<int64_t>{2, 3, 16, 16}));
  EXPECT_EQ(out.regression.sizes(), (std::vector<int64_t>{2, box_code::kChannels, 16, 16}));
  // The prior: sigmoid(-2.19) ~ 0.1 before training, up to the random weights' contribution.
  EXPECT_NEAR(torch::sigmoid(out.heatmap).mean().item<double>(), 0.1, 0.05);
  expect_gradients_reach_every_parameter(*head, {out.heatmap, out.regression});
}

TEST(ModelDetectionTargets, GaussianPeaksAtTheFloorCellOfEachCentre) {
  const GridSpec grid = tiny_grid();
  // Centre x = -0.01 lies in column 7 (floor), not 8 (truncation toward zero).
  const GtBoxes boxes =
      gt_boxes_from({{make_box(ObjectClass::pedestrian, {-0.01, 1.3, 0.8}, {0.5, 0.5, 1.6}, 0.0)}},
                    default_detection_classes());
  const DetectionTargets targets = build_detection_targets(boxes, 3, grid, {0.1, 2});
  const auto heatmap = targets.heatmap[0][1];  // pedestrian
  EXPECT_FLOAT_EQ(heatmap[10][7].item<float>(), 1.0f);  // y 1.3 -> row floor(5.3 / 0.5) = 10
  EXPECT_EQ(targets.heatmap[0][0].max().item<float>(), 0.0f);  // no vehicle
  // A 1 x 1-cell box gets the minimum radius 2: sigma = 5 / 6.
  const double sigma = 5.0 / 6.0;
  EXPECT_NEAR(heatmap[10][8].item<float>(), std::exp(-1.0 / (2 * sigma * sigma)), 1e-6);
  EXPECT_NEAR(heatmap[12][9].item<float>(), std::exp(-8.0 / (2 * sigma * sigma)), 1e-6);
  EXPECT_EQ(heatmap[10][10].item<float>(), 0.0f);  // outside the radius
  EXPECT_EQ(targets.indices[0][0].item<int64_t>(), 10 * 16 + 7);
  EXPECT_TRUE(targets.mask[0][0].item<bool>());
  EXPECT_NEAR(targets.regression[0][0][box_code::kOffsetX].item<float>(), 0.98, 1e-5);
  EXPECT_NEAR(targets.regression[0][0][box_code::kOffsetY].item<float>(), 0.6, 1e-5);
}

TEST(ModelDetectionTargets, DecodingTheTargetsAsPredictionsGivesBackTheBoxes) {
  const GridSpec grid = tiny_grid();
  const auto classes = default_detection_classes();
  const std::vector<std::vector<Box>> frames = {
      {make_box(ObjectClass::vehicle, {2.3, -1.1, 0.8}, {4.5, 1.9, 1.6}, 0.4, {5.0, -1.0}),
       make_box(ObjectClass::pedestrian, {-2.7, 2.05, 0.8}, {0.6, 0.7, 1.6}, -2.8, {0.0, 1.2}),
       // not a detection class
       make_box(ObjectClass::traffic_sign, {0.0, 0.0, 0.8}, {0.5, 0.5, 1.6}, 0.0),
       make_box(ObjectClass::vehicle, {9.0, 0.0, 0.8}, {4.0, 2.0, 1.6}, 0.0)},  // outside the grid
      {make_box(ObjectClass::cyclist, {-0.2, -3.4, 0.8}, {1.8, 0.8, 1.6}, 3.0, {-2.0, 0.5})}};
  const GtBoxes boxes = gt_boxes_from(frames, classes);
  EXPECT_EQ(boxes.max_boxes(), 3);
  const DetectionTargets targets = build_detection_targets(boxes, 3, grid);
  EXPECT_EQ(targets.mask.sum().item<int64_t>(), 3);  // the one outside the grid is dropped

  DetectionOutput as_prediction;
  as_prediction.heatmap = torch::logit(targets.heatmap.clamp(1e-4, 1 - 1e-4));
  as_prediction.regression = torch::zeros({2, box_code::kChannels, grid.ny() * grid.nx()});
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t m = 0; m < boxes.max_boxes(); ++m) {
      if (!targets.mask[b][m].item<bool>()) continue;
      as_prediction.regression[b].select(1, targets.indices[b][m].item<int64_t>()) =
          targets.regression[b][m];
    }
  }
  as_prediction.regression = as_prediction.regression.view({2, box_code::kChannels, 16, 16});
  const auto decoded = decode_detections(as_prediction, grid, classes, {100, 0.5, 3});
  ASSERT_EQ(decoded.size(), 2u);
  ASSERT_EQ(decoded[0].size(), 2u);
  ASSERT_EQ(decoded[1].size(), 1u);
  const std::vector<std::pair<size_t, size_t>> expected_source = {{0, 0}, {0, 1}, {1, 0}};
  for (const auto& [b, i] : expected_source) {
    const Box& truth = frames[b][i];
    const Detection* match = nullptr;
    for (const Detection& detection : decoded[b]) {
      if (detection.box.object_class == truth.object_class) match = &detection;
    }
    ASSERT_NE(match, nullptr) << "frame " << b << " box " << i;
    EXPECT_GT(match->score, 0.99);
    EXPECT_NEAR(match->box.center.x(), truth.center.x(), 1e-4);
    EXPECT_NEAR(match->box.center.y(), truth.center.y(), 1e-4);
    EXPECT_NEAR(match->box.center.z(), truth.center.z(), 1e-5);
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(match->box.size[k], truth.size[k], 1e-4);
    EXPECT_NEAR(std::remainder(match->box.yaw - truth.yaw, 2 * M_PI), 0.0, 1e-5);
    EXPECT_NEAR(match->box.velocity.x(), truth.velocity.x(), 1e-5);
    EXPECT_NEAR(match->box.velocity.y(), truth.velocity.y(), 1e-5);
  }
}

TEST(ModelDetectionTargets, BatchTensorsGiveTheSameBoxesAsBoxLists) {
  const auto classes = default_detection_classes();
  const std::vector<std::vector<Box>> frames = {
      {make_box(ObjectClass::cyclist, {1.0, 2.0, 0.8}, {1.8, 0.7, 1.6}, 0.5, {1.0, -1.0}),
       make_box(ObjectClass::traffic_light, {0.0, 0.0, 0.8}, {0.3, 0.3, 1.6}, 0.0)},
      {make_box(ObjectClass::vehicle, {-3.0, 0.5, 0.8}, {4.0, 2.0, 1.6}, -1.0, {2.0, 0.0})}};
  // data::Batch layout: (B, M, 9) in BoxField order, ObjectClass ids, mask; padding is class -1.
  const torch::Tensor boxes = torch::zeros({2, 2, 9});
  const torch::Tensor box_classes = torch::full({2, 2}, -1, torch::kLong);
  const torch::Tensor box_mask = torch::zeros({2, 2}, torch::kBool);
  for (size_t b = 0; b < frames.size(); ++b) {
    for (size_t m = 0; m < frames[b].size(); ++m) {
      const Box& box = frames[b][m];
      boxes[b][m] = torch::tensor({box.center.x(), box.center.y(), box.center.z(), box.size.x(),
                                   box.size.y(), box.size.z(), box.yaw, box.velocity.x(),
                                   box.velocity.y()});
      box_classes[b][m] = static_cast<int64_t>(box.object_class);
      box_mask[b][m] = true;
    }
  }
  const GtBoxes from_tensors = gt_boxes_from(boxes, box_classes, box_mask, classes);
  const GtBoxes from_lists = gt_boxes_from(frames, classes);
  // The traffic light becomes padding; compare the real boxes slot by slot.
  EXPECT_TRUE(torch::equal(from_tensors.valid, torch::tensor({true, false, true, false}).view({2, 2})));
  EXPECT_TRUE(torch::equal(from_tensors.label, torch::tensor({2, 0, 0, 0}).view({2, 2})));
  for (const auto& [b, m] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {1, 0}}) {
    EXPECT_TRUE(torch::allclose(from_tensors.center[b][m], from_lists.center[b][m]));
    EXPECT_TRUE(torch::allclose(from_tensors.size[b][m], from_lists.size[b][m]));
    EXPECT_TRUE(torch::allclose(from_tensors.yaw[b][m], from_lists.yaw[b][m]));
    EXPECT_TRUE(torch::allclose(from_tensors.velocity[b][m], from_lists.velocity[b][m]));
  }
  const GridSpec grid = tiny_grid();
  EXPECT_TRUE(torch::equal(build_detection_targets(from_tensors, 3, grid).heatmap,
                           build_detection_targets(from_lists, 3, grid).heatmap));
}

// ---------------------------------------------------------------- PlanningHead

TEST(ModelPlanningHead, PredictsCumulativeWaypointsAndEveryParameterLearns) {
  torch::manual_seed(0);
  PlanningHead head(
      PlanningHeadOptions(8, tiny_grid()).horizon(6).ego_status_dim(5).hidden(16).heads(2).layers(2));
  const torch::Tensor bev = torch::randn({3, 8, 16, 16});
  const torch::Tensor status = torch::randn({3, 5});
  const torch::Tensor command = torch::tensor({0, 3, 5}, torch::kLong);
  const torch::Tensor waypoints = head(bev, status, command);
  EXPECT_EQ(waypoints.sizes(), (std::vector<int64_t>{3, 6, 2}));
  // The command changes the plan.
  const torch::Tensor other = head(bev, status, torch::tensor({1, 3, 5}, torch::kLong));
  EXPECT_FALSE(torch::allclose(other[0], waypoints[0]));
  EXPECT_TRUE(torch::allclose(other[1], waypoints[1]));
  expect_gradients_reach_every_parameter(*head, {waypoints});
  EXPECT_THROW(head(bev, status, torch::tensor({0, 6, 1}, torch::kLong)), rsd::Error);
}

TEST(ModelPositionalEncoding, CellCentresFollowTheGridAxes) {
  const torch::Tensor centres = bev_cell_centres(tiny_grid(), 16, 16);
  EXPECT_FLOAT_EQ(centres[0][0][0].item<float>(), -3.75f);  // x of column 0
  EXPECT_FLOAT_EQ(centres[0][0][15].item<float>(), 3.75f);
  EXPECT_FLOAT_EQ(centres[1][0][3].item<float>(), -3.75f);  // y of row 0 (the ego's right)
  EXPECT_FLOAT_EQ(centres[1][15][3].item<float>(), 3.75f);
  const torch::Tensor coarse = bev_cell_centres(tiny_grid(), 4, 4);
  EXPECT_FLOAT_EQ(coarse[0][0][0].item<float>(), -3.0f);
  const torch::Tensor encoding = bev_positional_encoding(tiny_grid(), 16, 16, 8);
  EXPECT_EQ(encoding.sizes(), (std::vector<int64_t>{8, 16, 16}));
  // Channel 0 is sin of the x phase: constant along y, varying along x.
  EXPECT_TRUE(torch::allclose(encoding[0][0], encoding[0][9]));
  EXPECT_FALSE(torch::allclose(encoding[0].select(1, 0), encoding[0].select(1, 9)));
}

// ---------------------------------------------------------------- RiskHead

TEST(ModelRiskHead, BuiltInVariantsMapAnyBevTensorToLogitsOnTheGrid) {
  for (const std::string type : {"conv", "attention"}) {
    SCOPED_TRACE(type);
    torch::manual_seed(0);
    RiskHead head = make_risk_head(
        RiskHeadOptions(8, tiny_grid()).type(type).hidden(8).heads(2).layers(2).downsample(4));
    const torch::Tensor logits = head(torch::randn({2, 8, 16, 16}));
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 1, 16, 16}));
    // Features at half the grid resolution still give logits on the grid.
    EXPECT_EQ(head(torch::randn({2, 8, 8, 8})).sizes(), (std::vector<int64_t>{2, 1, 16, 16}));
    EXPECT_NEAR(torch::sigmoid(logits).mean().item<double>(), 0.1, 0.06);
    expect_gradients_reach_every_parameter(*head, {logits});
    EXPECT_THROW(head(torch::randn({2, 7, 16, 16})), rsd::Error);
  }
}

TEST(ModelRiskHead, RegistryRefusesDuplicatesAndListsKnownTypesForUnknownOnes) {
  try {
    make_risk_head(RiskHeadOptions(8, tiny_grid()).type("transformer"));
    FAIL() << "an unknown type was accepted";
  } catch (const rsd::ConfigError& error) {
    const std::string text = error.what();
    EXPECT_NE(text.find("'transformer'"), std::string::npos) << text;
    EXPECT_NE(text.find("attention, conv"), std::string::npos) << text;
  }
  EXPECT_THROW(risk_heads().add("conv", [](const RiskHeadOptions&) {
    return std::shared_ptr<RiskHeadImpl>();
  }),
               rsd::Error);
}

// A user's variant: the mean of the features, registered by the user before building the model.
class MeanRiskHeadImpl : public RiskHeadImpl {
 public:
  using RiskHeadImpl::RiskHeadImpl;

 protected:
  torch::Tensor predict(const torch::Tensor& bev) override { return bev.mean(1, true); }
};

TEST(ModelRiskHead, UserVariantsRegisterUnderTheirOwnType) {
  if (!risk_heads().contains("test_mean")) {
    risk_heads().add("test_mean", [](const RiskHeadOptions& options) {
      return std::make_shared<MeanRiskHeadImpl>(options);
    });
  }
  RiskHead head = make_risk_head(RiskHeadOptions(4, tiny_grid()).type("test_mean"));
  const torch::Tensor bev = torch::randn({1, 4, 16, 16});
  EXPECT_TRUE(torch::allclose(head(bev), bev.mean(1, true)));
}

TEST(ModelRiskHead, RiskAttentionAmplifiesRiskyCells) {
  const torch::Tensor bev = torch::ones({1, 2, 4, 4});
  torch::Tensor logits = torch::full({1, 1, 4, 4}, -1e4);
  logits[0][0][1][2] = 1e4;
  const torch::Tensor out = apply_risk_attention(bev, logits, 0.5);
  EXPECT_FLOAT_EQ(out[0][1][1][2].item<float>(), 1.5f);
  EXPECT_FLOAT_EQ(out[0][0][0][0].item<float>(), 1.0f);
  // Logits on a finer grid are resized to the features.
  EXPECT_EQ(apply_risk_attention(bev, torch::zeros({1, 1, 8, 8}), 1.0).sizes(), bev.sizes());
}

// ---------------------------------------------------------------- E2EModel

// One forward of `model` on the first sample of the tiny in-memory dataset (two cameras).
E2EOutput tiny_forward(E2EModel& model) {
  const rsd::data::Sample sample = rsd::test::TinyE2EDataset(1).get(0, 0);
  return model->forward_tensors(sample.images.unsqueeze(0), sample.intrinsics.unsqueeze(0),
                                sample.img_aug.unsqueeze(0), sample.cam2ego.unsqueeze(0),
                                sample.ego_status.unsqueeze(0), torch::tensor({sample.command}));
}

TEST(ModelE2E, TwoCamerasThroughEveryModuleWithGradientsEverywhere) {
  torch::manual_seed(0);
  E2EModelOptions options = rsd::test::tiny_e2e_model_options();
  options.risk_attention_alpha = 0.5;
  E2EModel model(options);
  const E2EOutput out = tiny_forward(model);
  EXPECT_EQ(out.bev.sizes(), (std::vector<int64_t>{1, 8, 8, 8}));
  EXPECT_EQ(out.depth.sizes(), (std::vector<int64_t>{1, 2, 5, 2, 3}));
  EXPECT_EQ(out.detection.heatmap.sizes(), (std::vector<int64_t>{1, 3, 8, 8}));
  EXPECT_EQ(out.waypoints.sizes(), (std::vector<int64_t>{1, 6, 2}));
  EXPECT_EQ(out.risk_logits.sizes(), (std::vector<int64_t>{1, 1, 8, 8}));
  expect_gradients_reach_every_parameter(
      *model, {out.detection.heatmap, out.detection.regression, out.waypoints, out.risk_logits});

  options.bev_encoder.in_channels(5);
  EXPECT_THROW(E2EModel{options}, rsd::Error);
}

TEST(ModelRiskHead, DisabledRiskHeadHasNoParametersAndNoOutput) {
  torch::manual_seed(0);
  auto disabled_config = rsd::Config::defaults();
  disabled_config.set("model.risk_head.enabled", "false");
  EXPECT_FALSE(rsd::pipeline::risk_head_options_from(disabled_config).has_value());

  E2EModelOptions options = rsd::test::tiny_e2e_model_options(/*risk_head=*/true);
  E2EModel with_risk(options);
  options = rsd::test::tiny_e2e_model_options(/*risk_head=*/false);
  ASSERT_FALSE(options.risk_head.has_value());
  E2EModel without_risk(options);

  EXPECT_TRUE(without_risk->risk_head.is_empty());
  for (const auto& child : without_risk->named_children()) EXPECT_NE(child.key(), "risk_head");
  for (const auto& parameter : without_risk->named_parameters()) {
    EXPECT_NE(parameter.key().rfind("risk_head.", 0), 0u) << parameter.key();
  }
  ASSERT_FALSE(with_risk->risk_head.is_empty());
  const int64_t risk_parameters = parameter_count(*with_risk->risk_head);
  EXPECT_GT(risk_parameters, 0);
  EXPECT_EQ(parameter_count(*without_risk), parameter_count(*with_risk) - risk_parameters);

  const E2EOutput plain = tiny_forward(without_risk);
  EXPECT_FALSE(plain.risk_logits.defined());
  EXPECT_EQ(plain.waypoints.sizes(), (std::vector<int64_t>{1, 6, 2}));
  EXPECT_TRUE(tiny_forward(with_risk).risk_logits.defined());
  // Risk attention needs the head: asking for it without one is refused.
  options.risk_attention_alpha = 0.5;
  EXPECT_THROW(E2EModel{options}, rsd::Error);
}

}  // namespace
