#include "builtin_hooks.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>

#include "rsd/train/trainer.h"
#include "rsd/util/fs.h"
#include "rsd/util/logging.h"
#include "rsd/util/metrics_writer.h"
#include "rsd/util/progress.h"

namespace rsd::train {
namespace {

class ProgressHook : public Hook {
 public:
  std::string name() const override { return "progress"; }
  int priority() const override { return 60; }

  void before_train(TrainerState& state) override {
    ProgressOptions options;
    options.enabled = state.options().progress && state.is_main();
    bar_ = std::make_unique<ProgressBar>("train", state.options().steps, options);
    bar_->advance(state.steps_done());
  }
  void after_step(TrainerState& state) override {
    std::ostringstream status;
    status << "loss " << state.last_step.losses.front().second;
    bar_->set_status(status.str());
    bar_->advance();
  }
  void after_train(TrainerState&, bool) override {
    if (bar_) bar_->finish();
    bar_.reset();
  }

 private:
  std::unique_ptr<ProgressBar> bar_;
};

class ValidationHook : public Hook {
 public:
  std::string name() const override { return "validation"; }
  int priority() const override { return 70; }

  void after_step(TrainerState& state) override {
    const int64_t step = state.steps_done();
    const TrainerOptions& options = state.options();
    if (options.val_every <= 0 || (step % options.val_every != 0 && step != options.steps)) return;
    NamedValues values = state.validate();
    const double loss = values.front().second;
    state.improved = loss < state.progress.best_metric;
    if (state.improved) state.progress.best_metric = loss;
    std::ostringstream text;
    text << "step " << step << " validation:";
    for (const auto& [key, value] : values) text << " " << key << "=" << value;
    logging::info(text.str());
    state.validation = std::move(values);
  }
};

class CheckpointHook : public Hook {
 public:
  std::string name() const override { return "checkpoint"; }
  int priority() const override { return 80; }

  void after_step(TrainerState& state) override {
    const int64_t every = state.options().checkpoint_every;
    if ((every > 0 && state.steps_done() % every == 0) || state.improved) {
      state.save_checkpoint(state.improved);
    }
  }
  void after_train(TrainerState& state, bool completed) override {
    // After an error the last good checkpoint stays the newest (the NaN guard saves its own).
    if (completed && state.checkpoint_step() != state.steps_done()) state.save_checkpoint(false);
  }
};

// A resumed run repeats the steps after its checkpoint, so the lines an interrupted run wrote for
// them (train and val alike) would appear twice: they are dropped, and so is a line cut short by
// the kill. Lines without a step number are kept. Rewritten atomically: a second kill leaves the
// old file or the new one.
void drop_metrics_after(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;  // no metrics yet
  std::string kept;
  int64_t dropped = 0;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const bool complete = record.is_object();
    const auto found = complete ? record.find("step") : record.end();
    const bool later = complete && found != record.end() && found->is_number_integer() &&
                       found->get<int64_t>() > step;
    if (complete && !later) {
      kept += line;
      kept += '\n';
    } else {
      ++dropped;
    }
  }
  in.close();
  if (dropped == 0) return;
  write_file_atomic(path, kept);
  logging::info("resuming at step " + std::to_string(step) + ": dropped " +
                std::to_string(dropped) + " line(s) of " + path +
                " that the interrupted run wrote after it");
}

// Train lines cover the steps since the previous line: rates and times are over the steps' own
// time (data, forward, backward, update), not the validation or checkpoints between them.
// Before the checkpoint hook: a run killed between the two resumes from the step's checkpoint and
// would never write the step's lines; the other way round it drops them and writes them again.
class MetricsHook : public Hook {
 public:
  std::string name() const override { return "metrics"; }
  int priority() const override { return 75; }

  void before_train(TrainerState& state) override {
    if (state.writes_files()) {
      const std::string path = state.options().run_dir + "/metrics.jsonl";
      if (state.resuming()) drop_metrics_after(path, state.steps_done());
      writer_ = std::make_unique<MetricsWriter>(path);
    }
    window_ = {};
  }

  void after_step(TrainerState& state) override {
    const StepRecord& step = state.last_step;
    if (!step.skipped) {
      window_.seconds += step.seconds;
      window_.data_wait_seconds += step.data_wait_seconds;
      window_.samples += step.samples;
      ++window_.steps;
      if (state.steps_done() % state.options().log_every == 0 ||
          state.steps_done() == state.end_step()) {
        write_train_line(state);
        window_ = {};
      }
    }
    if (state.validation && writer_) {
      MetricsRecord record;
      record.add("mode", "val").add("step", state.steps_done());
      for (const auto& [key, value] : *state.validation) record.add(key, value);
      writer_->write(record);
    }
  }

  void after_train(TrainerState&, bool) override { writer_.reset(); }

 private:
  void write_train_line(const TrainerState& state) {
    if (!writer_) return;
    const StepRecord& step = state.last_step;
    const double seconds = std::max(window_.seconds, 1e-12);
    MetricsRecord record;
    record.add("mode", "train")
        .add("step", state.steps_done())
        .add("epoch", state.progress.epoch)
        .add("lr", step.lr);
    for (const auto& [key, value] : step.losses) record.add(key, value);
    record.add("grad_norm", step.grad_norm)
        .add("samples_per_s", static_cast<double>(window_.samples) / seconds)
        .add("data_wait_fraction", window_.data_wait_seconds / seconds)
        .add("time", window_.seconds / static_cast<double>(window_.steps));
    if (step.loss_scale > 0.0) record.add("loss_scale", step.loss_scale);
    writer_->write(record);
  }

  struct Window {
    double seconds = 0.0;
    double data_wait_seconds = 0.0;
    int64_t samples = 0;
    int64_t steps = 0;
  };
  std::unique_ptr<MetricsWriter> writer_;
  Window window_;
};

}  // namespace

std::shared_ptr<Hook> make_progress_hook() { return std::make_shared<ProgressHook>(); }
std::shared_ptr<Hook> make_validation_hook() { return std::make_shared<ValidationHook>(); }
std::shared_ptr<Hook> make_checkpoint_hook() { return std::make_shared<CheckpointHook>(); }
std::shared_ptr<Hook> make_metrics_hook() { return std::make_shared<MetricsHook>(); }

}  // namespace rsd::train
