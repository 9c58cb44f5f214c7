#include "rsd/pipeline/training_job.h"

#include "rsd/dist/communicator.h"
#include "rsd/pipeline/data_sources.h"
#include "rsd/pipeline/model_config.h"
#include "rsd/pipeline/model_weights.h"
#include "rsd/pipeline/process.h"
#include "rsd/pipeline/tensorboard_hook.h"
#include "rsd/pipeline/train_config.h"
#include "rsd/pipeline/training_curves_hook.h"
#include "rsd/pipeline/validation_pictures.h"
#include "rsd/train/e2e_train_module.h"
#include "rsd/train/loader_source.h"
#include "rsd/util/error.h"
#include "rsd/util/log_setup.h"

namespace rsd::pipeline {

train::TrainSummary run_training_job(Config config, const TrainingJobOptions& job) {
  RunOptions run = run_options_from(config);
  dist::DistOptions dist = dist_options_from(config);
  // Config mistakes before anything is written: a device that is not there, nccl on the CPU.
  const torch::Device device = run_device(run, dist.local_rank);
  dist.backend = dist::resolve_backend(dist.backend, device);  // auto: nccl on a GPU, else gloo
  check_backend_for_device(dist.backend, device);
  check_amp_for_device(amp_precision_from(config), device);
  if (dist.distributed() && run.name.empty()) {
    throw ConfigError("a data-parallel run needs run.name so that every rank names the same run "
                      "(rsd_train --nproc sets it)");
  }
  const int threads = apply_run_options(run, dist.rank);

  std::string run_dir;
  if (dist.rank == 0) {
    run_dir = start_run_directory(config, run, job.config_path, job.resume).path();
  } else {
    logging::setup({run.log_level, "", dist.rank, true});
    run_dir = run.root + "/" + run.name;
  }
  logging::info("device: " + device.str() + ", intra-op threads: " + std::to_string(threads) +
                ", ranks: " + std::to_string(dist.world_size) +
                (dist.distributed() ? " over " + dist.backend : ""));
  if (job.dry_run) return {};

  set_current_device(device);  // this rank's GPU, before NCCL and the loader's pinning use one
  auto communicator = std::make_shared<dist::Communicator>(dist, device);
  std::shared_ptr<const data::RiskTargetSource> risk = risk_source_from(config);
  if (!risk && config.get<bool>("model.risk_head.enabled")) {
    logging::warn("model.risk_head.enabled but data.risk_cache is null: no frame has a risk target, "
                  "so the RiskHead learns nothing");
  }
  const bool has_split = config.has_value("data.split_file");
  auto train_loader = make_loader(config, has_split ? data::Split::train : data::Split::all, true,
                                  dist.rank, dist.world_size, risk, device);
  std::shared_ptr<data::Loader> val_loader;
  if (has_split) {
    val_loader = make_loader(config, data::Split::val, false, dist.rank, dist.world_size, risk, device);
  } else {
    logging::info("data.split_file is null: every clip trains, no validation");
  }

  model::E2EModel model = build_e2e_model(config);  // with model.init_weights when set
  model->to(device);  // before the Trainer builds the optimiser over the parameters
  train::TrainerOptions trainer_options = trainer_options_from(config);
  trainer_options.run_dir = run_dir;
  trainer_options.config_yaml = config.to_yaml();
  auto module = std::make_shared<train::E2ETrainModule>(
      model, train::E2ELoss(e2e_loss_options_from(config)), e2e_train_module_options_from(config));
  // The loaders' workers pin the batches (data.loader.pin_memory): nothing to pin here.
  const train::LoaderSourceOptions placement{device, /*pin_memory=*/false};
  train::Trainer<data::Batch> trainer(
      trainer_options, module, std::make_shared<train::LoaderSource>(train_loader, placement),
      val_loader ? std::make_shared<train::LoaderSource>(val_loader, placement) : nullptr,
      communicator);
  if (config.get<bool>("run.tensorboard")) {
    TensorBoardHookOptions tensorboard;
    tensorboard.lr_group_names = optimised_group_names(module->param_groups());
    if (val_loader) {  // drawn on rank 0 only, as the hook writes there only
      tensorboard.validation_pictures =
          make_validation_pictures(config, model, risk, device, run_dir + "/tb/pictures.tmp");
    }
    trainer.add_hook(make_tensorboard_hook(std::move(tensorboard)));  // <run dir>/tb/ (rank 0)
  }
  trainer.add_hook(make_training_curves_hook());  // <run dir>/curves.png (rank 0)
  const train::TrainSummary summary = trainer.run(job.resume);
  logging::info("trained " + std::to_string(summary.step) + " steps; last loss " +
                std::to_string(summary.last_loss) +
                (summary.last_checkpoint.empty() ? "" : "; checkpoint " + summary.last_checkpoint));
  return summary;
}

}  // namespace rsd::pipeline
