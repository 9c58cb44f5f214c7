#include "rsd/pipeline/training_curves_hook.h"

#include <exception>
#include <string>

#include "rsd/eval/training_curves.h"
#include "rsd/train/trainer.h"
#include "rsd/util/logging.h"

namespace rsd::pipeline {
namespace {

class TrainingCurvesHook : public train::Hook {
 public:
  std::string name() const override { return "training_curves"; }
  int priority() const override { return 85; }

  void after_step(train::TrainerState& state) override {
    if (state.validation) refresh(state);
  }
  void after_train(train::TrainerState& state, bool) override { refresh(state); }

 private:
  void refresh(const train::TrainerState& state) {
    if (!state.writes_files()) return;
    const std::string run_dir = state.options().run_dir;
    try {
      const eval::TrainingLog log = eval::read_training_log(run_dir + "/metrics.jsonl");
      eval::draw_training_curves({log}, run_dir + "/curves.png");
      if (log.unreadable_lines != reported_unreadable_ || log.skipped_values != reported_skipped_) {
        logging::warn("curves.png: " + std::to_string(log.unreadable_lines) +
                      " unreadable line(s) and " + std::to_string(log.skipped_values) +
                      " null (non-finite) value(s) of metrics.jsonl left out");
        reported_unreadable_ = log.unreadable_lines;
        reported_skipped_ = log.skipped_values;
      }
    } catch (const std::exception& error) {
      // The curves are for watching the run; the run itself goes on.
      logging::warn(std::string("cannot draw the training curves: ") + error.what());
    }
  }

  int64_t reported_unreadable_ = 0;
  int64_t reported_skipped_ = 0;
};

}  // namespace

std::shared_ptr<train::Hook> make_training_curves_hook() {
  return std::make_shared<TrainingCurvesHook>();
}

}  // namespace rsd::pipeline
