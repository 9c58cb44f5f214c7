// The composition layer: converting a config into the options structs (the built-in defaults give
// the structs' own defaults; a bad value names its key), the risk source and teacher factories,
// process setup, the launcher's worker arguments and the evaluation folder.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/model/gt_boxes.h"
#include "rsd/pipeline/data_config.h"
#include "rsd/pipeline/data_sources.h"
#include "rsd/pipeline/eval_config.h"
#include "rsd/pipeline/evaluation_job.h"
#include "rsd/pipeline/launch.h"
#include "rsd/pipeline/model_config.h"
#include "rsd/pipeline/process.h"
#include "rsd/pipeline/risk_cache_job.h"
#include "rsd/pipeline/teacher_config.h"
#include "rsd/pipeline/teacher_factory.h"
#include "rsd/pipeline/train_config.h"
#include "rsd/teacher/risk_cache.h"
#include "rsd/train/checkpoint.h"
#include "rsd/util/error.h"
#include "rsd/util/log_setup.h"
#include "support/error_message.h"
#include "support/log_capture.h"
#include "support/synthetic_dataset.h"
#include "support/temp_dir.h"

namespace {

using rsd::Config;
using rsd::GridSpec;
using rsd::test::read_text;
using rsd::test::TempDir;
namespace pipeline = rsd::pipeline;
namespace fs = std::filesystem;

// The message of the rsd::ConfigError `action` throws; fails the test when it throws none.
std::string config_error(const std::function<void()>& action) {
  try {
    action();
  } catch (const rsd::ConfigError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

void clear_torchrun_environment() {
  for (const char* name : {"MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK"}) {
    ::unsetenv(name);
  }
}

// ---- drift: configs/base against the structs' in-code defaults ---------------------------------

TEST(PipelineDefaults, TrainerOptionsOfTheBuiltInDefaultsAreTheStructDefaults) {
  const rsd::train::TrainerOptions converted = pipeline::trainer_options_from(Config::defaults());
  const rsd::train::TrainerOptions defaults;
  EXPECT_EQ(converted.steps, defaults.steps);
  EXPECT_EQ(converted.stop_after, defaults.stop_after);
  EXPECT_EQ(converted.lr, defaults.lr);
  EXPECT_EQ(converted.weight_decay, defaults.weight_decay);
  EXPECT_EQ(converted.warmup_steps, defaults.warmup_steps);
  EXPECT_EQ(converted.grad_clip, defaults.grad_clip);
  EXPECT_EQ(converted.accumulate, defaults.accumulate);
  EXPECT_EQ(converted.val_every, defaults.val_every);
  EXPECT_EQ(converted.val_batches, defaults.val_batches);
  EXPECT_EQ(converted.checkpoint_every, defaults.checkpoint_every);
  EXPECT_EQ(converted.keep_checkpoints, defaults.keep_checkpoints);
  EXPECT_EQ(converted.max_bad_steps, defaults.max_bad_steps);
  EXPECT_EQ(converted.log_every, defaults.log_every);
  EXPECT_EQ(converted.progress, defaults.progress);
  EXPECT_EQ(pipeline::e2e_train_module_options_from(Config::defaults()).backbone_lr_mult,
            rsd::train::E2ETrainModuleOptions().backbone_lr_mult);
}

TEST(PipelineDefaults, LoaderOptionsOfTheBuiltInDefaultsAreTheStructDefaults) {
  // The struct's defaults are those of training (shuffled, last batch dropped).
  const rsd::data::LoaderOptions converted =
      pipeline::loader_options_from(Config::defaults(), /*training=*/true);
  const rsd::data::LoaderOptions defaults;
  EXPECT_EQ(converted.batch_size, defaults.batch_size);
  EXPECT_EQ(converted.workers, defaults.workers);
  EXPECT_EQ(converted.prefetch, defaults.prefetch);
  EXPECT_EQ(converted.shuffle, defaults.shuffle);
  EXPECT_EQ(converted.drop_last, defaults.drop_last);
  EXPECT_EQ(converted.seed, defaults.seed);
  EXPECT_EQ(converted.rank, defaults.rank);
  EXPECT_EQ(converted.world_size, defaults.world_size);
  EXPECT_EQ(converted.pin_memory, defaults.pin_memory);
  EXPECT_EQ(converted.destination, defaults.destination);
}

TEST(PipelineDefaults, LossOptionsOfTheBuiltInDefaultsAreTheStructDefaults) {
  const Config config = Config::defaults();
  const rsd::model::RiskDistillationLossOptions risk = pipeline::risk_loss_options_from(config);
  const rsd::model::RiskDistillationLossOptions risk_defaults;
  EXPECT_EQ(risk.type(), risk_defaults.type());
  EXPECT_EQ(risk.focal().alpha, risk_defaults.focal().alpha);
  EXPECT_EQ(risk.focal().beta, risk_defaults.focal().beta);
  EXPECT_EQ(risk.focal().positive_threshold, risk_defaults.focal().positive_threshold);

  const rsd::train::E2ELossOptions e2e = pipeline::e2e_loss_options_from(config);
  const rsd::train::LossWeights weights;
  EXPECT_EQ(e2e.weights.detection, weights.detection);
  EXPECT_EQ(e2e.weights.planning, weights.planning);
  EXPECT_EQ(e2e.weights.risk, weights.risk);
  EXPECT_EQ(e2e.weights.collision, weights.collision);
  const rsd::model::DetectionLossOptions detection_defaults;
  EXPECT_EQ(e2e.detection.heatmap_weight, detection_defaults.heatmap_weight);
  EXPECT_EQ(e2e.detection.regression_weight, detection_defaults.regression_weight);
  EXPECT_EQ(e2e.detection.code_weights, detection_defaults.code_weights);
  const rsd::model::DetectionTargetOptions targets_defaults;
  EXPECT_EQ(e2e.detection_targets.min_overlap, targets_defaults.min_overlap);
  EXPECT_EQ(e2e.detection_targets.min_radius, targets_defaults.min_radius);
  const rsd::model::DetectionDecodeOptions decode = pipeline::detection_decode_options_from(config);
  const rsd::model::DetectionDecodeOptions decode_defaults;
  EXPECT_EQ(decode.max_detections, decode_defaults.max_detections);
  EXPECT_EQ(decode.score_threshold, decode_defaults.score_threshold);
}

TEST(PipelineDefaults, DistAndRunOptionsOfTheBuiltInDefaultsAreTheStructDefaults) {
  clear_torchrun_environment();
  const Config config = Config::defaults();
  const rsd::dist::DistOptions dist = pipeline::dist_options_from(config);
  const rsd::dist::DistOptions dist_defaults;
  EXPECT_EQ(dist.backend, dist_defaults.backend);
  EXPECT_EQ(dist.master_addr, dist_defaults.master_addr);
  EXPECT_EQ(dist.master_port, dist_defaults.master_port);
  EXPECT_EQ(dist.rank, dist_defaults.rank);
  EXPECT_EQ(dist.world_size, dist_defaults.world_size);
  EXPECT_EQ(dist.local_rank, dist_defaults.local_rank);
  EXPECT_EQ(dist.timeout_s, dist_defaults.timeout_s);
  EXPECT_EQ(dist.bucket_mb, dist_defaults.bucket_mb);

  const pipeline::RunOptions run = pipeline::run_options_from(config);
  const pipeline::RunOptions run_defaults;
  EXPECT_EQ(run.name, run_defaults.name);
  EXPECT_EQ(run.root, run_defaults.root);
  EXPECT_EQ(run.seed, run_defaults.seed);
  EXPECT_EQ(run.deterministic, run_defaults.deterministic);
  EXPECT_EQ(run.cudnn_benchmark, run_defaults.cudnn_benchmark);
  EXPECT_EQ(run.num_threads, run_defaults.num_threads);
  EXPECT_EQ(run.log_level, run_defaults.log_level);
  EXPECT_EQ(run.progress, run_defaults.progress);
}

TEST(PipelineDefaults, TeacherOptionsOfTheBuiltInDefaultsAreTheStructDefaults) {
  const Config config = Config::defaults();
  const rsd::teacher::RasterizeOptions rasterize = pipeline::rasterize_options_from(config);
  const rsd::teacher::RasterizeOptions rasterize_defaults;
  EXPECT_EQ(rasterize.mode, rasterize_defaults.mode);
  EXPECT_EQ(rasterize.min_radius, rasterize_defaults.min_radius);
  EXPECT_EQ(rasterize.min_overlap, rasterize_defaults.min_overlap);
  const rsd::teacher::RiskCacheBuildOptions build = pipeline::risk_cache_build_options_from(config);
  const rsd::teacher::RiskCacheBuildOptions build_defaults(build.grid);
  EXPECT_EQ(build.output_dir, build_defaults.output_dir);
  EXPECT_EQ(build.checkpoint_frames, build_defaults.checkpoint_frames);
  EXPECT_EQ(build.ego_path.source, build_defaults.ego_path.source);
  EXPECT_EQ(build.ego_path.horizon_s, build_defaults.ego_path.horizon_s);
  EXPECT_DOUBLE_EQ(build.ego_path.step_s, build_defaults.ego_path.step_s);
}

// ---- converters ----------------------------------------------------------------------------------

TEST(PipelineConvert, BadValuesNameTheirKey) {
  const auto expect_key = [](const std::string& assignment, const std::function<void(const Config&)>& convert,
                             const std::string& key) {
    Config bad = Config::defaults();
    bad.apply_override(assignment);
    const std::string message = config_error([&] { convert(bad); });
    EXPECT_NE(message.find(key), std::string::npos) << assignment << ": " << message;
  };
  expect_key("train.warmup_steps=5000", [](const Config& c) { pipeline::trainer_options_from(c); },
             "train.warmup_steps");
  expect_key("train.lr=0", [](const Config& c) { pipeline::trainer_options_from(c); }, "train.lr");
  expect_key("model.detection_head.classes=[vehicle, truck]",
             [](const Config& c) { pipeline::e2e_loss_options_from(c); },
             "model.detection_head.classes");
  expect_key("data.grid.z=[0.0, 1.0]", [](const Config& c) { pipeline::grid_spec_from(c); },
             "data.grid.z");
  expect_key("run.num_threads=-2", [](const Config& c) { pipeline::run_options_from(c); },
             "run.num_threads");
  expect_key("teacher.rasterize.mode=disc", [](const Config& c) { pipeline::rasterize_options_from(c); },
             "teacher.rasterize.mode");
  expect_key("teacher.vlm.endpoint=ftp://x", [](const Config& c) { pipeline::vlm_teacher_options_from(c); },
             "teacher.vlm.endpoint");
  expect_key("model.lift.context_channels=0", [](const Config& c) { pipeline::lift_splat_options_from(c); },
             "model.lift.context_channels");
  // The message also says where the value was set.
  Config bad = Config::defaults();
  bad.apply_override("train.accumulate=0");
  EXPECT_NE(config_error([&] { pipeline::trainer_options_from(bad); }).find("--set"), std::string::npos);
}

TEST(PipelineConvert, TheLossUsesTheModelsDetectionClasses) {
  Config config = Config::defaults();
  config.apply_override("model.detection_head.classes=[pedestrian, vehicle]");
  EXPECT_EQ(pipeline::e2e_loss_options_from(config).detection_classes,
            pipeline::detection_classes_from(config));
  EXPECT_EQ(pipeline::detection_classes_from(config).front(), rsd::data::ObjectClass::pedestrian);
}

TEST(PipelineConvert, GridFromConfigAndEquality) {
  Config config = Config::defaults();
  config.apply_override("data.grid.x=[-10.0, 10.0, 0.5]");
  const GridSpec grid = pipeline::grid_spec_from(config);
  EXPECT_EQ(grid.nx(), 40);
  EXPECT_EQ(grid, pipeline::grid_spec_from(config));
  config.apply_override("data.grid.x=[-10.0, 10.0, 0.25]");
  EXPECT_NE(grid, pipeline::grid_spec_from(config));
  EXPECT_EQ(grid.to_string().substr(0, 11), "x[-10,10,0.");
  config.apply_override("data.grid.x=[-10.0, 10.0, 0.3]");  // the axis check of GridSpec itself
  EXPECT_NE(config_error([&] { pipeline::grid_spec_from(config); }).find("axis x"), std::string::npos);
}

TEST(PipelineConvert, ModelOptionsFromTheDefaultsAgree) {
  const rsd::model::E2EModelOptions options = pipeline::e2e_model_options_from(Config::defaults());
  EXPECT_EQ(options.lift.in_channels(), options.image_encoder.out_channels());
  EXPECT_EQ(options.bev_encoder.in_channels(), options.lift.context_channels() * options.lift.grid().nz());
  EXPECT_EQ(options.planning_head.bev_channels(), options.bev_encoder.out_channels());
  EXPECT_TRUE(options.risk_head.has_value());
  EXPECT_FALSE(options.risk_attention_alpha.has_value());
}

TEST(PipelineConvert, DefaultsBuildEveryModuleAndBadModelValuesNameTheirKey) {
  using namespace rsd::model;
  auto config = Config::defaults();
  const ImageEncoderOptions image = pipeline::image_encoder_options_from(config);
  EXPECT_EQ(image.depth(), 18);
  EXPECT_EQ(image.pretrained(), "");
  EXPECT_EQ(pipeline::bev_encoder_options_from(config, 64).blocks(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(pipeline::detection_classes_from(config), default_detection_classes());
  ASSERT_TRUE(pipeline::detection_head_options_from(config).has_value());
  const PlanningHeadOptions planning = pipeline::planning_head_options_from(config);
  EXPECT_EQ(planning.horizon(), 6);
  EXPECT_EQ(planning.grid(), pipeline::grid_spec_from(config));
  EXPECT_FALSE(pipeline::collision_loss_options_from(config).has_value());
  ASSERT_TRUE(pipeline::risk_head_options_from(config).has_value());
  EXPECT_EQ(pipeline::risk_head_options_from(config)->type(), "conv");
  EXPECT_FALSE(pipeline::risk_attention_alpha_from(config).has_value());
  EXPECT_EQ(pipeline::risk_loss_options_from(config).type(), RiskLossType::l1);

  config.set("model.planning_head.collision_loss", "true");
  ASSERT_TRUE(pipeline::collision_loss_options_from(config).has_value());
  EXPECT_DOUBLE_EQ(pipeline::collision_loss_options_from(config)->step_seconds, 0.5);
  config.set("model.risk_head.enabled", "false");
  EXPECT_FALSE(pipeline::risk_head_options_from(config).has_value());

  const auto expect_key_error = [](const Config& bad, const auto& convert, const char* key) {
    try {
      convert(bad);
      ADD_FAILURE() << key << " was accepted";
    } catch (const rsd::ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find(key), std::string::npos) << error.what();
    }
  };
  auto bad = Config::defaults();
  bad.set("model.image_encoder.depth", "20");
  expect_key_error(bad, [](const Config& c) { pipeline::image_encoder_options_from(c); },
                   "model.image_encoder.depth");
  bad = Config::defaults();
  bad.set("model.risk_head.type", "transformer");
  expect_key_error(bad, [](const Config& c) { pipeline::risk_head_options_from(c); },
                   "model.risk_head.type");
  bad = Config::defaults();
  bad.set("model.detection_head.classes", "[vehicle, truck]");
  expect_key_error(bad, [](const Config& c) { pipeline::detection_classes_from(c); },
                   "model.detection_head.classes");
  bad = Config::defaults();
  bad.set("train.risk_loss", "huber");
  expect_key_error(bad, [](const Config& c) { pipeline::risk_loss_options_from(c); }, "train.risk_loss");
}

TEST(PipelineConvert, LiftSplatOptionsFromConfig) {
  Config config = Config::defaults();
  config.apply_override("model.lift.depth_bins=[1.0, 60.0, 0.5]");
  config.apply_override("model.lift.context_channels=80");
  const rsd::model::LiftSplatOptions options = pipeline::lift_splat_options_from(config);
  EXPECT_EQ(options.depth_bins(), 118);
  EXPECT_EQ(options.context_channels(), 80);
  EXPECT_EQ(options.in_channels(), config.get<int64_t>("model.image_encoder.out_channels"));
  EXPECT_EQ(options.image_height(), config.get<int64_t>("data.image.height"));
  EXPECT_EQ(options.feature_height(), options.image_height() / options.stride());
  EXPECT_EQ(options.grid(), pipeline::grid_spec_from(config));

  config.apply_override("model.lift.depth_bins=[10.0, 5.0, 1.0]");
  EXPECT_NE(config_error([&] { pipeline::lift_splat_options_from(config); }).find("model.lift.depth_bins"),
            std::string::npos);
}

TEST(PipelineConvert, DatasetAndLoaderOptionsFromConfig) {
  Config config = Config::defaults();
  config.apply_override("data.root=/somewhere");
  config.apply_override("data.augment.bev_scale=[0.9, 1.2]");
  const rsd::data::DatasetOptions train =
      pipeline::dataset_options_from(config, rsd::data::Split::train, true);
  EXPECT_EQ(train.root, "/somewhere");
  EXPECT_TRUE(train.augment);
  EXPECT_DOUBLE_EQ(train.bev_augment.scale_max, 1.2);
  EXPECT_EQ(train.cameras.size(), 6u);
  EXPECT_EQ(train.grid, pipeline::grid_spec_from(config));
  EXPECT_FALSE(pipeline::dataset_options_from(config, rsd::data::Split::val, false).augment);
  const rsd::data::LoaderOptions loader = pipeline::loader_options_from(config, false);
  EXPECT_FALSE(loader.shuffle);
  EXPECT_FALSE(loader.drop_last);
  // The run's device travels to the loader, which pins only for a GPU.
  const torch::Device gpu(torch::kCUDA, 1);
  EXPECT_EQ(pipeline::loader_options_from(config, true, gpu).destination, gpu);
  config.apply_override("data.loader.pin_memory=false");
  EXPECT_FALSE(pipeline::loader_options_from(config, true, gpu).pin_memory);
  config.apply_override("data.augment.bev_scale=[1.2, 0.9]");
  EXPECT_NE(config_error([&] { pipeline::dataset_options_from(config, rsd::data::Split::train, true); })
                .find("augment.bev_scale"),
            std::string::npos);
  config.apply_override("data.augment.bev_scale=[0.9, 1.2]");
  config.apply_override("data.on_bad_frame=maybe");
  EXPECT_NE(config_error([&] { pipeline::dataset_options_from(config, rsd::data::Split::train, true); })
                .find("data.on_bad_frame"),
            std::string::npos);
}

TEST(PipelineConvert, EvaluatorOptionsComeFromTheConfigAndBadValuesNameTheKey) {
  Config config = Config::defaults();
  const rsd::eval::EvaluatorOptions options = pipeline::evaluator_options_from(config);
  EXPECT_DOUBLE_EQ(options.planning.step_s, 0.5);  // 5 frames at 10 Hz
  EXPECT_EQ(options.detection.thresholds_m.size(), 4u);
  EXPECT_EQ(options.picture_camera, 0);
  EXPECT_EQ(options.detection.classes, pipeline::detection_classes_from(config));
  config.set("eval.picture_camera", "CAM_NOWHERE");
  EXPECT_NE(config_error([&] { pipeline::evaluator_options_from(config); }).find("eval.picture_camera"),
            std::string::npos);
}

TEST(PipelineConvert, DistOptionsFromConfigAndTheEnvironment) {
  clear_torchrun_environment();
  Config config = Config::defaults();
  config.apply_override("dist.master_port=12345");
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("RANK", "3", 1);
  auto options = pipeline::dist_options_from(config);
  EXPECT_EQ(options.master_port, 12345);
  EXPECT_EQ(options.world_size, 4);
  EXPECT_EQ(options.rank, 3);
  EXPECT_EQ(options.local_rank, 3);
  ::setenv("RANK", "4", 1);
  EXPECT_NE(config_error([&] { pipeline::dist_options_from(config); }).find("RANK"), std::string::npos);
  ::setenv("RANK", "x", 1);
  EXPECT_NE(config_error([&] { pipeline::dist_options_from(config); }).find("RANK"), std::string::npos);
  clear_torchrun_environment();
  EXPECT_FALSE(pipeline::dist_options_from(config).distributed());
}

// ---- factories -----------------------------------------------------------------------------------

TEST(PipelineRiskSource, NullWithoutACacheAndTheFolderNamedWhenItIsMissing) {
  Config config = Config::defaults();
  EXPECT_EQ(pipeline::risk_source_from(config), nullptr) << "data.risk_cache: null means no risk targets";

  TempDir dir;
  const std::string missing = dir.file("no_such_cache");
  config.set("data.risk_cache", "\"" + missing + "\"");
  try {
    pipeline::risk_source_from(config);
    FAIL() << "a missing cache folder must be refused";
  } catch (const rsd::DataError& error) {
    EXPECT_NE(std::string(error.what()).find(missing), std::string::npos) << error.what();
  }
}

TEST(PipelineRiskSource, ReadsTheCacheOnTheConfiguredGrid) {
  TempDir dir;
  Config config = Config::defaults();
  for (const char* axis : {"x", "y"}) config.set(std::string("data.grid.") + axis, "[-4.0, 4.0, 1.0]");
  const GridSpec grid = pipeline::grid_spec_from(config);
  rsd::teacher::RiskCacheHeader header(grid);
  header.clip = "Clip";
  header.complete = true;
  header.teacher = {"scripted", "v1", ""};
  header.settings = pipeline::risk_cache_settings_from(config);  // data.risk_cache_check: strict
  rsd::teacher::RiskCacheFile file(header);
  rsd::teacher::CachedFrame frame;
  frame.frame = 4;
  frame.map = torch::zeros({grid.ny(), grid.nx()});
  frame.map[2][5] = 0.5f;
  file.add(frame);
  file.write(dir.file(std::string("Clip") + rsd::teacher::kRiskCacheExtension));
  config.set("data.risk_cache", "\"" + dir.path() + "\"");

  const auto source = pipeline::risk_source_from(config);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->grid(), grid);
  EXPECT_TRUE(torch::allclose(source->risk_map("Clip", 4), frame.map));
  EXPECT_FALSE(source->risk_map("Clip", 5).defined());

  config.set("data.grid.x", "[-8.0, 8.0, 1.0]");  // a cache of another grid is refused
  EXPECT_THROW(pipeline::risk_source_from(config), rsd::DataError);
}

// ---- the risk cache job -------------------------------------------------------------------------

TEST(PipelineRiskCache, FailsWhenMoreFramesFailedThanTeacherMaxFailedFractionAllows) {
  TempDir dir;
  const std::string clips = rsd::test::write_small_synthetic_dataset(dir.file("clips"));
  // A jsonl teacher with no answers fails every frame ("no answer in ...").
  const std::string answers = dir.write("answers.jsonl", "");
  Config config = Config::defaults();
  config.set("data.root", "\"" + clips + "\"");
  config.set("teacher.type", "jsonl");
  config.set("teacher.jsonl.path", "\"" + answers + "\"");
  config.set("teacher.output", "\"" + dir.file("risk") + "\"");
  pipeline::RiskCacheJobOptions options;
  options.progress = false;

  try {
    pipeline::run_risk_cache(config, options);
    FAIL() << "3 FAILED frames of 3 exceed teacher.max_failed_fraction: 0";
  } catch (const rsd::ConfigError& error) {
    FAIL() << error.what();
  } catch (const rsd::Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("3 of 3 frames FAILED"), std::string::npos) << message;
    EXPECT_NE(message.find("teacher.max_failed_fraction"), std::string::npos) << message;
    EXPECT_NE(message.find("frame 0: no answer in " + answers), std::string::npos) << message;
  }
  // The caches were written all the same; a run that tolerates the failures reports them.
  config.set("teacher.max_failed_fraction", "1.0");
  const auto report = pipeline::run_risk_cache(config, options);
  EXPECT_EQ(report.frames_failed, 3);
  EXPECT_EQ(report.frames_ok, 0);

  config.set("teacher.max_failed_fraction", "1.5");
  EXPECT_NE(config_error([&] { pipeline::run_risk_cache(config, options); })
                .find("teacher.max_failed_fraction"),
            std::string::npos);
}

TEST(PipelineRiskCache, FailedFractionCountsEveryClipAndShowsTheFirstReasons) {
  rsd::teacher::RiskCacheRunReport report;
  report.output_dir = "cache";
  report.frames_ok = 15;
  report.frames_failed = 5;
  for (const char* clip : {"A", "B"}) {
    rsd::teacher::ClipBuildReport clip_report;
    clip_report.clip = clip;
    for (int frame = 0; frame < (clip[0] == 'A' ? 2 : 3); ++frame) {
      clip_report.failures.push_back("frame " + std::to_string(frame) + ": timeout");
    }
    report.clips.push_back(clip_report);
  }
  EXPECT_NO_THROW(pipeline::check_failed_frames(report, 0.25));  // 5 of 20 is not more than 25%
  try {
    pipeline::check_failed_frames(report, 0.2);
    FAIL() << "5 of 20 FAILED exceeds 20%";
  } catch (const rsd::Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("5 of 20 frames FAILED (25.0%)"), std::string::npos) << message;
    EXPECT_NE(message.find("A frame 0: timeout; A frame 1: timeout; B frame 0: timeout."),
              std::string::npos)
        << message;
    EXPECT_EQ(message.find("B frame 1"), std::string::npos) << "only the first three reasons";
  }
  EXPECT_NO_THROW(pipeline::check_failed_frames(rsd::teacher::RiskCacheRunReport{}, 0.0));
}

TEST(PipelineTeachers, BuiltinsAndUnknownTypes) {
  Config config = Config::defaults();
  EXPECT_EQ(pipeline::teachers().types(), (std::vector<std::string>{"jsonl", "rule", "vlm"}));
  EXPECT_EQ(pipeline::make_teacher(config)->info().type, "rule");
  config.set("teacher.type", "oracle");
  const std::string message = config_error([&] { pipeline::make_teacher(config); });
  EXPECT_NE(message.find("teacher.type"), std::string::npos) << message;
  EXPECT_NE(message.find("'oracle'"), std::string::npos) << message;
  EXPECT_NE(message.find("jsonl, rule, vlm"), std::string::npos) << message;
  EXPECT_THROW(pipeline::teachers().add(
                   "rule", [](const Config&) { return std::unique_ptr<rsd::teacher::RiskTeacher>(); }),
               rsd::Error);
}

// ---- process setup -------------------------------------------------------------------------------

TEST(PipelineProcess, RunOptionsReadFromConfigAndApplied) {
  Config config = Config::defaults();
  config.apply_override("run.num_threads=1");
  config.apply_override("run.log_level=warn");
  const pipeline::RunOptions options = pipeline::run_options_from(config);
  EXPECT_EQ(options.num_threads, 1);
  EXPECT_EQ(options.log_level, rsd::logging::Level::warn);
  EXPECT_EQ(pipeline::apply_run_options(options), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_GE(pipeline::resolve_num_threads(0), 1);
  EXPECT_EQ(pipeline::resolve_num_threads(3), 3);

  config.apply_override("run.log_level=loud");
  EXPECT_THROW(pipeline::run_options_from(config), rsd::ConfigError);
  config.apply_override("run.log_level=info");
  config.apply_override("run.num_threads=-2");
  EXPECT_THROW(pipeline::run_options_from(config), rsd::ConfigError);
}

// OPENBLAS_NUM_THREADS and libtorch's thread count as they were before a test changed them.
class ThreadSettings {
 public:
  ThreadSettings() : threads_(at::get_num_threads()), had_variable_(std::getenv(kVariable) != nullptr) {
    if (had_variable_) variable_ = std::getenv(kVariable);
  }
  ~ThreadSettings() {
    if (had_variable_) {
      ::setenv(kVariable, variable_.c_str(), 1);
    } else {
      ::unsetenv(kVariable);
    }
    at::set_num_threads(threads_);
  }
  static constexpr const char* kVariable = "OPENBLAS_NUM_THREADS";

 private:
  int threads_;
  bool had_variable_;
  std::string variable_;
};

// libtorch calls BLAS from inside its OpenMP team: an OpenBLAS (Debian's libblas.so.3 once
// libopenblas0-pthread is installed) must not add threads of its own, unless the user asks for them.
TEST(PipelineProcess, IntraOpThreadsKeepOpenBlasToOneThreadUnlessTheEnvironmentSetsIt) {
  const ThreadSettings restore;
  ::unsetenv(ThreadSettings::kVariable);
  pipeline::set_intra_op_threads(2);
  EXPECT_EQ(at::get_num_threads(), 2);

  using GetThreads = int (*)();
  using SetThreads = void (*)(int);
  const auto openblas_threads =
      reinterpret_cast<GetThreads>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  const auto set_openblas_threads =
      reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (openblas_threads == nullptr || set_openblas_threads == nullptr) {
    GTEST_SKIP() << "this process's BLAS is not OpenBLAS: nothing to limit";
  }
  EXPECT_EQ(openblas_threads(), 1);

  set_openblas_threads(2);
  ::setenv(ThreadSettings::kVariable, "2", 1);
  pipeline::set_intra_op_threads(2);
  EXPECT_EQ(openblas_threads(), 2) << "OPENBLAS_NUM_THREADS is the user's choice";
}

// The cuDNN and determinism flags libtorch's global context holds while the test changes them.
class GlobalAlgorithmFlags {
 public:
  GlobalAlgorithmFlags()
      : deterministic_(at::globalContext().deterministicAlgorithms()),
        deterministic_cudnn_(at::globalContext().deterministicCuDNN()),
        benchmark_cudnn_(at::globalContext().benchmarkCuDNN()),
        threads_(at::get_num_threads()),
        cublas_set_(std::getenv("CUBLAS_WORKSPACE_CONFIG") != nullptr) {}
  ~GlobalAlgorithmFlags() {
    at::globalContext().setDeterministicAlgorithms(deterministic_, false);
    at::globalContext().setDeterministicCuDNN(deterministic_cudnn_);
    at::globalContext().setBenchmarkCuDNN(benchmark_cudnn_);
    at::set_num_threads(threads_);
    if (!cublas_set_) ::unsetenv("CUBLAS_WORKSPACE_CONFIG");
  }
  bool cublas_was_set() const { return cublas_set_; }

 private:
  bool deterministic_, deterministic_cudnn_, benchmark_cudnn_;
  int threads_;
  bool cublas_set_;
};

TEST(PipelineProcess, CudnnBenchmarkAndDeterminismReachLibtorchsGlobalContext) {
  const GlobalAlgorithmFlags restore;
  const at::Context& context = at::globalContext();
  Config config = Config::defaults();
  config.apply_override("run.num_threads=1");
  config.apply_override("run.cudnn_benchmark=true");
  pipeline::RunOptions options = pipeline::run_options_from(config);
  ASSERT_TRUE(options.cudnn_benchmark);
  ASSERT_FALSE(options.deterministic);
  pipeline::apply_run_options(options);
  EXPECT_TRUE(context.benchmarkCuDNN());
  EXPECT_FALSE(context.deterministicAlgorithms());
  EXPECT_FALSE(context.deterministicCuDNN());

  // Determinism wins: deterministic algorithms, deterministic cuDNN, no autotuner, and the cuBLAS
  // workspace setting deterministic CUDA matrix products need.
  config.apply_override("run.deterministic=true");
  options = pipeline::run_options_from(config);
  pipeline::apply_run_options(options);
  EXPECT_TRUE(context.deterministicAlgorithms());
  EXPECT_TRUE(context.deterministicAlgorithmsWarnOnly());  // ops without one warn and run
  EXPECT_TRUE(context.deterministicCuDNN());
  EXPECT_FALSE(context.benchmarkCuDNN());
  if (!restore.cublas_was_set()) {
    ASSERT_NE(std::getenv("CUBLAS_WORKSPACE_CONFIG"), nullptr);
    EXPECT_STREQ(std::getenv("CUBLAS_WORKSPACE_CONFIG"), ":4096:8");
  }

  config.apply_override("run.deterministic=false");
  config.apply_override("run.cudnn_benchmark=false");
  pipeline::apply_run_options(pipeline::run_options_from(config));
  EXPECT_FALSE(context.deterministicAlgorithms());
  EXPECT_FALSE(context.deterministicCuDNN());
  EXPECT_FALSE(context.benchmarkCuDNN());
}

TEST(PipelineProcess, StartRunDirectoryWritesTheResolvedConfigWithTheDerivedName) {
  TempDir dir;
  Config config = Config::defaults();
  config.apply_override("run.root=" + dir.path());
  const pipeline::RunOptions options = pipeline::run_options_from(config);
  const auto run = pipeline::start_run_directory(config, options, "configs/exp.yaml", false);
  EXPECT_EQ(fs::path(run.path()).filename().string().rfind("exp-", 0), 0u);
  const Config written = Config::load(run.config_path());
  EXPECT_EQ(written.get<std::string>("run.name"), fs::path(run.path()).filename().string());
  EXPECT_EQ(written.to_yaml(), config.to_yaml());
  rsd::logging::info("a line for the log file");
  rsd::logging::flush();
  EXPECT_NE(read_text(run.log_path()).find("a line for the log file"), std::string::npos);
  rsd::logging::setup({});  // back to the console only
}

// ---- launcher ------------------------------------------------------------------------------------

TEST(PipelineLaunch, WorkerArgumentsDropNprocNameTheRunAndShareTheCores) {
  pipeline::RunOptions run;
  run.name = "shared";
  const std::vector<std::string> worker = pipeline::worker_arguments(
      {"--config", "c.yaml", "--nproc", "4", "--set", "train.lr=1e-3", "--nproc=4", "--resume"}, run,
      "c.yaml", /*nproc=*/4, /*cores=*/10);
  EXPECT_EQ(worker, (std::vector<std::string>{"--config", "c.yaml", "--set", "train.lr=1e-3", "--resume",
                                              "--set", "run.name=\"shared\"", "--set",
                                              "run.num_threads=2"}));

  // run.name null: one derived name for every worker; threads set by the user stay as they are.
  run.name.clear();
  run.num_threads = 3;
  const std::vector<std::string> derived =
      pipeline::worker_arguments({"--config", "configs/synth_tiny.yaml"}, run,
                                 "configs/synth_tiny.yaml", 2, 10);
  ASSERT_EQ(derived.size(), 4u);
  EXPECT_EQ(derived[2], "--set");
  EXPECT_EQ(derived[3].rfind("run.name=\"synth_tiny-", 0), 0u) << derived[3];
  EXPECT_EQ(std::count(derived.begin(), derived.end(), "--nproc"), 0);

  // More workers than cores: each still gets one thread.
  run.num_threads = 0;
  const std::vector<std::string> crowded = pipeline::worker_arguments({}, run, "c.yaml", 8, 2);
  EXPECT_EQ(crowded.back(), "run.num_threads=1");
}

TEST(PipelineLaunch, OnlyALauncherStartsWorkers) {
  ::unsetenv("WORLD_SIZE");
  EXPECT_FALSE(pipeline::launches_workers(1));
  EXPECT_TRUE(pipeline::launches_workers(2));
  ::setenv("WORLD_SIZE", "2", 1);  // a worker started by the launcher runs the job itself
  EXPECT_FALSE(pipeline::launches_workers(2));
  ::unsetenv("WORLD_SIZE");
}

// ---- evaluation ----------------------------------------------------------------------------------

TEST(PipelineEvaluation, DefaultFolderIsBesideTheRunOrTheCheckpoint) {
  EXPECT_EQ(pipeline::default_eval_dir("runs/exp/checkpoints/best.pt", "val"), "runs/exp/eval/val");
  EXPECT_EQ(pipeline::default_eval_dir("/tmp/models/model.pt", "all"), "/tmp/models/eval_all");
  EXPECT_EQ(pipeline::default_eval_dir("model.pt", "train"), "eval_train");
}

TEST(PipelineEvaluation, ConfigMistakesComeBeforeTheCheckpoint) {
  TempDir dir;
  const pipeline::EvalJobOptions val{dir.file("missing.pt"), "val", dir.file("eval")};
  const pipeline::EvalJobOptions all{dir.file("missing.pt"), "all", dir.file("eval")};
  Config config = Config::defaults();
  // The val split without a split file is a config mistake, whatever the checkpoint.
  EXPECT_NE(config_error([&] { pipeline::run_evaluation(config, val); }).find("data.split_file"),
            std::string::npos);
  config.set("eval.picture_camera", "CAM_NOWHERE");
  EXPECT_NE(config_error([&] { pipeline::run_evaluation(config, all); }).find("eval.picture_camera"),
            std::string::npos);
  config.set("eval.picture_camera", "CAM_FRONT");
  config.set("model.image_encoder.depth", "20");
  EXPECT_NE(config_error([&] { pipeline::run_evaluation(config, all); }).find("model.image_encoder.depth"),
            std::string::npos);
  config.set("model.image_encoder.depth", "18");
  try {
    pipeline::run_evaluation(config, all);
    FAIL() << "a missing checkpoint must be refused";
  } catch (const rsd::CheckpointError& error) {
    EXPECT_NE(std::string(error.what()).find(all.checkpoint), std::string::npos) << error.what();
  }
}

// A run's model differs from the config given to rsd_eval (another size, another image size):
// the tiny user config, synthetic clips for it, and a checkpoint of a model built from `trained`
// with `trained` as its stored config (or none).
struct EvaluationOfAnotherRun {
  TempDir dir;
  Config config = Config::defaults();
  Config trained;
  std::string checkpoint;

  EvaluationOfAnotherRun() {
    const std::string clips = rsd::test::write_small_synthetic_dataset(dir.file("clips"));
    config.set("data.root", "\"" + clips + "\"");
    config.set("run.progress", "false");
    config.set("eval.pictures", "0");
    config.set("data.image", "{height: 64, width: 176}");
    config.set("data.grid", "{x: [-16.0, 16.0, 1.0], y: [-16.0, 16.0, 1.0]}");
    config.set("model.image_encoder", "{width: 8, out_channels: 16}");
    config.set("model.lift", "{depth_bins: [1.0, 33.0, 2.0], context_channels: 8}");
    config.set("model.bev_encoder", "{channels: 16, blocks: [1, 1], out_channels: 16}");
    config.set("model.detection_head.hidden", "16");
    config.set("model.planning_head", "{hidden: 32, heads: 4}");
    config.set("model.risk_head.hidden", "16");
    trained = config.clone();
    trained.set("model.bev_encoder.channels", "24");  // another parameter shape
    trained.set("data.image", "{height: 48, width: 160}");  // another input size
  }

  void save_checkpoint(bool with_config) {
    rsd::model::E2EModel model(pipeline::e2e_model_options_from(trained));
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));
    rsd::train::TrainingProgress progress;
    progress.step = 7;
    if (with_config) progress.config_yaml = trained.to_yaml();
    checkpoint = rsd::train::CheckpointManager(dir.file("run/checkpoints"), 1)
                     .save(progress, *model, optimizer, /*is_best=*/false);
  }

  pipeline::EvalJobOptions job() const { return {checkpoint, "all", dir.file("eval")}; }
};

TEST(PipelineEvaluation, TheModelAndItsInputSizeComeFromTheCheckpointsStoredConfig) {
  EvaluationOfAnotherRun run;
  run.save_checkpoint(/*with_config=*/true);
  const pipeline::EvalSummary summary = pipeline::run_evaluation(run.config, run.job());
  EXPECT_TRUE(fs::is_regular_file(summary.report_path));
  EXPECT_FALSE(summary.metrics.empty());
  const std::string report = read_text(summary.report_path);
  EXPECT_NE(report.find("the checkpoint's stored config"), std::string::npos) << report;
}

TEST(PipelineEvaluation, AModelFromTheConfigThatDoesNotFitNamesTheFirstDifferingKey) {
  EvaluationOfAnotherRun run;
  run.save_checkpoint(/*with_config=*/true);
  pipeline::EvalJobOptions job = run.job();
  job.model_from = pipeline::ModelSource::config;
  const std::string message = rsd::test::error_message<rsd::CheckpointError>(
      [&] { pipeline::run_evaluation(run.config, job); });
  EXPECT_NE(message.find(run.checkpoint), std::string::npos) << message;
  EXPECT_NE(message.find("differs from the checkpoint's stored config at "
                         "model.bev_encoder.channels: 16 (<code>:1) vs 24 in the checkpoint"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("(and 2 more: data.image.height data.image.width)"), std::string::npos)
      << message;
  EXPECT_NE(message.find("without --model-from config"), std::string::npos) << message;

  // The run's own config fits.
  EXPECT_NO_THROW(pipeline::run_evaluation(run.trained, job));
}

TEST(PipelineEvaluation, SetOverridesWinOverTheCheckpointAndNameThemselvesWhenTheyDoNotFit) {
  EvaluationOfAnotherRun run;
  run.save_checkpoint(/*with_config=*/true);
  // Not a shape: the checkpoint loads and the override is used (and said so).
  Config decoded = run.config.clone();
  decoded.apply_override("model.detection_head.score_threshold=0.5");
  {
    rsd::test::LogCapture log;
    EXPECT_NO_THROW(pipeline::run_evaluation(decoded, run.job()));
    EXPECT_NE(log.text().find("model.detection_head.score_threshold: 0.5 (--set "
                              "model.detection_head.score_threshold=0.5) instead of the "
                              "checkpoint's 0.1"),
              std::string::npos)
        << log.text();
    EXPECT_NE(log.text().find("first model.bev_encoder.channels (16 given, 24 in the checkpoint)"),
              std::string::npos)
        << log.text();
  }
  // A shape: the checkpoint does not fit the override, which the error names.
  Config wider = run.config.clone();
  wider.apply_override("model.bev_encoder.channels=40");
  const std::string message = rsd::test::error_message<rsd::CheckpointError>(
      [&] { pipeline::run_evaluation(wider, run.job()); });
  EXPECT_NE(message.find("at model.bev_encoder.channels: 40 (--set model.bev_encoder.channels=40) "
                         "vs 24 in the checkpoint"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("drop the --set override"), std::string::npos) << message;
}

TEST(PipelineEvaluation, ACheckpointWithoutAStoredConfigUsesTheConfigGivenWithAWarning) {
  EvaluationOfAnotherRun run;
  run.save_checkpoint(/*with_config=*/false);
  rsd::test::LogCapture log;
  EXPECT_THROW(pipeline::run_evaluation(run.config, run.job()), rsd::CheckpointError);
  EXPECT_NE(log.text().find("stores no config"), std::string::npos) << log.text();
  EXPECT_NO_THROW(pipeline::run_evaluation(run.trained, run.job()));
}

}  // namespace
