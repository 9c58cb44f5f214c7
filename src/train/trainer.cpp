#include "rsd/train/trainer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

#include "rsd/dist/gradient_sync.h"
#include "rsd/train/checkpoint.h"
#include "rsd/train/lr_schedule.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"
#include "rsd/util/metrics_writer.h"
#include "rsd/util/progress.h"

namespace rsd::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_terms(const std::vector<std::pair<std::string, double>>& terms) {
  std::ostringstream text;
  for (const auto& [name, value] : terms) text << (text.tellp() > 0 ? " " : "") << name << "=" << value;
  return text.str();
}

}  // namespace

struct Trainer::State {
  State(TrainerOptions options, model::E2EModel model, E2ELoss loss,
        std::shared_ptr<data::Loader> train_loader, std::shared_ptr<data::Loader> val_loader,
        std::shared_ptr<dist::Communicator> communicator, std::string run_dir, std::string config_yaml)
      : options(options), model(std::move(model)), loss(std::move(loss)),
        train_loader(std::move(train_loader)), val_loader(std::move(val_loader)),
        communicator(std::move(communicator)), run_dir(std::move(run_dir)),
        config_yaml(std::move(config_yaml)) {}

  TrainerOptions options;
  model::E2EModel model;
  E2ELoss loss;
  std::shared_ptr<data::Loader> train_loader;
  std::shared_ptr<data::Loader> val_loader;
  std::shared_ptr<dist::Communicator> communicator;
  std::string run_dir;
  std::string config_yaml;

  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<WarmupCosineSchedule> schedule;
  std::unique_ptr<dist::GradientSynchronizer> sync;
  std::unique_ptr<CheckpointManager> checkpoints;
  std::unique_ptr<MetricsWriter> metrics;
  std::vector<torch::Tensor> parameters;

  TrainingProgress progress;
  int64_t batch_in_epoch = 0;  // batches this rank consumed in progress.epoch

  bool writes_files() const { return communicator->is_main() && !run_dir.empty(); }
  int64_t samples_per_batch() const {
    return train_loader->options().batch_size * communicator->world_size();
  }

  void build_optimizer() {
    std::vector<torch::Tensor> backbone, rest;
    for (const auto& item : model->named_parameters()) {
      if (!item.value().requires_grad()) continue;
      (item.key().rfind("image_encoder.", 0) == 0 ? backbone : rest).push_back(item.value());
      parameters.push_back(item.value());
    }
    std::vector<torch::optim::OptimizerParamGroup> groups;
    std::vector<double> multipliers;
    if (!backbone.empty()) {
      groups.emplace_back(backbone);
      multipliers.push_back(options.backbone_lr_mult);
    }
    groups.emplace_back(rest);
    multipliers.push_back(1.0);
    optimizer = std::make_unique<torch::optim::AdamW>(
        groups, torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));
    LrScheduleOptions schedule_options;
    schedule_options.base_lr = options.lr;
    schedule_options.total_steps = options.steps;
    schedule_options.warmup_steps = options.warmup_steps;
    schedule = std::make_unique<WarmupCosineSchedule>(schedule_options, multipliers);
  }

  data::Batch next_batch() {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (auto batch = train_loader->next()) {
        ++batch_in_epoch;
        progress.samples_in_epoch = batch_in_epoch * samples_per_batch();
        return std::move(*batch);
      }
      ++progress.epoch;
      batch_in_epoch = 0;
      progress.samples_in_epoch = 0;
      train_loader->start_epoch(progress.epoch, 0);
    }
    throw Error("the training split yields no batch: " +
                std::to_string(train_loader->batches_per_epoch()) + " batches per epoch on rank " +
                std::to_string(communicator->rank()) + " (too few samples for data.loader.batch_size?)");
  }

  // Sums per-rank values once per step; returns the means over ranks.
  std::vector<double> mean_over_ranks(const std::vector<double>& values) {
    if (communicator->world_size() == 1) return values;
    std::vector<torch::Tensor> packed{torch::tensor(values, torch::kFloat64)};
    communicator->all_reduce_sum(packed);
    std::vector<double> means(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      means[i] = packed[0][static_cast<int64_t>(i)].item<double>() / communicator->world_size();
    }
    return means;
  }

  std::string save_checkpoint(bool is_best) {
    progress.config_yaml = config_yaml;
    std::string path;
    if (writes_files()) path = checkpoints->save(progress, *model, *optimizer, is_best);
    communicator->barrier();  // no rank races ahead of a checkpoint it may need to resume from
    return path;
  }
};

Trainer::Trainer(TrainerOptions options, model::E2EModel model, E2ELoss loss,
                 std::shared_ptr<data::Loader> train_loader, std::shared_ptr<data::Loader> val_loader,
                 std::shared_ptr<dist::Communicator> communicator, std::string run_dir,
                 std::string config_yaml)
    : state_(std::make_unique<State>(options, std::move(model), std::move(loss),
                                     std::move(train_loader), std::move(val_loader),
                                     std::move(communicator), std::move(run_dir),
                                     std::move(config_yaml))) {
  State& s = *state_;
  RSD_CHECK(s.train_loader != nullptr, "a training loader is required");
  RSD_CHECK(s.communicator != nullptr, "a communicator is required (world size 1 for one process)");
  s.build_optimizer();
  if (!s.run_dir.empty()) {
    s.checkpoints = std::make_unique<CheckpointManager>(
        s.run_dir + "/checkpoints", static_cast<int>(s.options.keep_checkpoints));
  }
}

Trainer::~Trainer() = default;

std::vector<std::pair<std::string, double>> Trainer::validate() {
  State& s = *state_;
  RSD_CHECK(s.val_loader != nullptr, "validation needs a validation loader");
  torch::NoGradGuard no_grad;
  s.model->eval();
  s.val_loader->start_epoch(0);
  std::vector<std::string> names;
  std::vector<double> sums;
  int64_t batches = 0;
  while (auto batch = s.val_loader->next()) {
    const LossTerms terms = s.loss(s.model->forward(*batch), *batch);
    if (names.empty()) {
      names.push_back("loss");
      for (const auto& term : terms.terms) names.push_back(term.first);
      sums.assign(names.size(), 0.0);
    }
    sums[0] += terms.total.item<double>();
    for (std::size_t i = 0; i < terms.terms.size(); ++i) sums[i + 1] += terms.terms[i].second.item<double>();
    if (++batches == s.options.val_batches) break;
  }
  s.model->train();
  RSD_CHECK(batches > 0, "the validation split yields no batch");
  for (auto& sum : sums) sum /= static_cast<double>(batches);
  const std::vector<double> means = s.mean_over_ranks(sums);
  std::vector<std::pair<std::string, double>> result;
  for (std::size_t i = 0; i < names.size(); ++i) result.emplace_back(names[i], means[i]);
  return result;
}

TrainSummary Trainer::run(bool resume) {
  State& s = *state_;
  const TrainerOptions& o = s.options;
  if (resume && s.checkpoints) {
    if (auto restored = s.checkpoints->resume(*s.model, *s.optimizer)) {
      s.progress = *restored;
      logging::info("resumed at step " + std::to_string(s.progress.step) + " (epoch " +
                    std::to_string(s.progress.epoch) + ")");
    } else {
      logging::info("no checkpoint to resume from: starting afresh");
    }
  }
  dist::broadcast_module(*s.communicator, *s.model);
  if (s.communicator->world_size() > 1) {
    s.sync = std::make_unique<dist::GradientSynchronizer>(s.communicator, s.parameters,
                                                          s.communicator->options().bucket_mb);
  }
  if (s.writes_files()) s.metrics = std::make_unique<MetricsWriter>(s.run_dir + "/metrics.jsonl");

  s.batch_in_epoch = s.progress.samples_in_epoch / s.samples_per_batch();
  s.train_loader->start_epoch(s.progress.epoch, s.batch_in_epoch);
  s.model->train();

  const int64_t last_step =
      o.stop_after > 0 ? std::min(o.steps, s.progress.step + o.stop_after) : o.steps;
  ProgressOptions bar_options;
  bar_options.enabled = o.progress && s.communicator->is_main();
  ProgressBar bar("train", o.steps, bar_options);
  bar.advance(s.progress.step);

  TrainSummary summary;
  summary.best_val = s.progress.best_metric;
  double window_data_wait = 0.0;
  auto window_start = Clock::now();
  int64_t window_steps = 0;
  bool saved_at_current_step = false;

  while (s.progress.step < last_step) {
    const int64_t step = s.progress.step;
    s.schedule->apply(*s.optimizer, step);
    s.optimizer->zero_grad();
    std::vector<std::string> names;
    std::vector<double> values;  // total, then the terms, summed over micro-batches
    for (int64_t micro = 0; micro < o.accumulate; ++micro) {
      const auto wait_start = Clock::now();
      const data::Batch batch = s.next_batch();
      window_data_wait += seconds_since(wait_start);
      if (s.sync && micro == o.accumulate - 1) s.sync->arm();
      const LossTerms terms = s.loss(s.model->forward(batch), batch);
      (terms.total / static_cast<double>(o.accumulate)).backward();
      if (names.empty()) {
        names.push_back("loss");
        for (const auto& term : terms.terms) names.push_back(term.first);
        values.assign(names.size(), 0.0);
      }
      values[0] += terms.total.item<double>() / o.accumulate;
      for (std::size_t i = 0; i < terms.terms.size(); ++i) {
        values[i + 1] += terms.terms[i].second.item<double>() / o.accumulate;
      }
    }
    if (s.sync) s.sync->finish();
    const std::vector<double> means = s.mean_over_ranks(values);
    std::vector<std::pair<std::string, double>> terms;
    for (std::size_t i = 0; i < names.size(); ++i) terms.emplace_back(names[i], means[i]);

    ++s.progress.step;
    saved_at_current_step = false;
    if (!std::isfinite(means[0])) {
      // Every rank sees the same mean, so all skip together.
      s.optimizer->zero_grad();
      ++s.progress.bad_steps;
      logging::warn("step " + std::to_string(step + 1) + ": non-finite loss (" + format_terms(terms) +
                    "); update skipped (" + std::to_string(s.progress.bad_steps) + " in a row)");
      if (s.progress.bad_steps >= o.max_bad_steps) {
        const std::string path = s.save_checkpoint(false);
        throw Error("training stopped: " + std::to_string(s.progress.bad_steps) +
                    " consecutive non-finite losses (train.max_bad_steps) at step " +
                    std::to_string(s.progress.step) +
                    (path.empty() ? std::string() : "; checkpoint " + path));
      }
    } else {
      s.progress.bad_steps = 0;
      const double max_norm = o.grad_clip > 0.0 ? o.grad_clip : std::numeric_limits<double>::infinity();
      const double grad_norm = torch::nn::utils::clip_grad_norm_(s.parameters, max_norm);
      s.optimizer->step();
      summary.last_loss = means[0];
      ++window_steps;

      if (s.progress.step % o.log_every == 0 || s.progress.step == last_step) {
        const double elapsed = seconds_since(window_start);
        if (s.metrics) {
          MetricsRecord record;
          record.add("mode", "train").add("step", s.progress.step).add("epoch", s.progress.epoch)
              .add("lr", s.schedule->lr_at(step));
          for (const auto& [name, value] : terms) record.add(name, value);
          record.add("grad_norm", grad_norm)
              .add("samples_per_s", static_cast<double>(window_steps * o.accumulate *
                                                        s.samples_per_batch()) / elapsed)
              .add("data_wait_fraction", window_data_wait / elapsed)
              .add("time", elapsed / static_cast<double>(std::max<int64_t>(window_steps, 1)));
          s.metrics->write(record);
        }
        window_start = Clock::now();
        window_data_wait = 0.0;
        window_steps = 0;
      }
    }
    std::ostringstream status;
    status << "loss " << means[0];
    bar.set_status(status.str());
    bar.advance();

    bool is_best = false;
    if (s.val_loader && o.val_every > 0 &&
        (s.progress.step % o.val_every == 0 || s.progress.step == o.steps)) {
      const auto val = validate();
      is_best = val.front().second < s.progress.best_metric;
      if (is_best) s.progress.best_metric = val.front().second;
      summary.best_val = s.progress.best_metric;
      logging::info("step " + std::to_string(s.progress.step) + " validation: " + format_terms(val));
      if (s.metrics) {
        MetricsRecord record;
        record.add("mode", "val").add("step", s.progress.step);
        for (const auto& [name, value] : val) record.add(name, value);
        s.metrics->write(record);
      }
    }
    if ((o.checkpoint_every > 0 && s.progress.step % o.checkpoint_every == 0) || is_best) {
      summary.last_checkpoint = s.save_checkpoint(is_best);
      saved_at_current_step = true;
    }
  }
  if (!saved_at_current_step) summary.last_checkpoint = s.save_checkpoint(false);
  bar.finish();
  summary.step = s.progress.step;
  return summary;
}

}  // namespace rsd::train
