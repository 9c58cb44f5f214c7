#include "rsd/pipeline/tensorboard_hook.h"

#include <nlohmann/json.hpp>

#include <exception>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "rsd/train/trainer.h"
#include "rsd/util/logging.h"

namespace rsd::pipeline {
namespace {

// The lines appended to a file since the last call: complete lines only, so that a line being
// written is read whole at the next call.
class LineFollower {
 public:
  explicit LineFollower(std::string path) : path_(std::move(path)) {
    std::ifstream in(path_, std::ios::binary | std::ios::ate);
    offset_ = in ? static_cast<std::streamoff>(in.tellg()) : 0;
  }

  std::vector<std::string> new_lines() {
    std::vector<std::string> lines;
    std::ifstream in(path_, std::ios::binary);
    if (!in) return lines;
    in.seekg(offset_);
    for (std::string line; std::getline(in, line);) {
      if (in.eof()) break;  // no newline yet: not complete
      offset_ += static_cast<std::streamoff>(line.size()) + 1;
      lines.push_back(std::move(line));
    }
    return lines;
  }

 private:
  std::string path_;
  std::streamoff offset_ = 0;
};

class TensorBoardHook : public train::Hook {
 public:
  explicit TensorBoardHook(TensorBoardHookOptions options) : options_(std::move(options)) {}

  std::string name() const override { return "tensorboard"; }
  int priority() const override { return 76; }

  void before_train(train::TrainerState& state) override {
    if (!state.writes_files()) return;
    const std::string& run_dir = state.options().run_dir;
    // After the metrics hook's before_train: a resumed run's file is already cut at its step.
    metrics_ = std::make_unique<LineFollower>(run_dir + "/metrics.jsonl");
    guarded([&] {
      writer_ = std::make_unique<TensorBoardWriter>(run_dir + "/tb");
      // A code block keeps the YAML's indentation in TensorBoard's markdown.
      writer_->add_text("config", "```yaml\n" + state.options().config_yaml + "```\n",
                        state.steps_done());
      writer_->flush();
    });
  }

  void after_step(train::TrainerState& state) override {
    if (!writer_) return;
    guarded([&] {
      for (const std::string& line : metrics_->new_lines()) write_metrics_line(line, state);
      if (state.validation && options_.validation_pictures) write_pictures(state.steps_done());
      writer_->flush();
    });
  }

  void after_train(train::TrainerState&, bool) override {
    if (writer_) guarded([&] { writer_->flush(); });
    writer_.reset();
    metrics_.reset();
  }

 private:
  void write_metrics_line(const std::string& line, train::TrainerState& state) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object()) return;
    const auto mode = record.find("mode");
    const auto step = record.find("step");
    if (mode == record.end() || !mode->is_string() || step == record.end() ||
        !step->is_number_integer()) {
      return;
    }
    const auto at = step->get<int64_t>();
    for (const auto& [key, value] : record.items()) {
      if (key == "mode" || key == "step") continue;
      // metrics.jsonl writes a non-finite number as null.
      std::optional<double> number;
      if (value.is_number()) number = value.get<double>();
      if (value.is_null()) number = std::numeric_limits<double>::quiet_NaN();
      if (number) writer_->add_scalar(mode->get<std::string>() + "/" + key, *number, at);
    }
    if (mode->get<std::string>() == "train") write_learning_rates(state, at);
  }

  // The rates the optimiser used for this step (the schedule's rate times each group's
  // multiplier), set before the step.
  void write_learning_rates(train::TrainerState& state, int64_t step) {
    const auto& groups = state.optimizer().param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const std::string group = g < options_.lr_group_names.size() ? options_.lr_group_names[g]
                                                                    : "group" + std::to_string(g);
      writer_->add_scalar("lr/" + group, groups[g].options().get_lr(), step);
    }
  }

  // Pictures that cannot be drawn end the pictures, not the other events.
  void write_pictures(int64_t step) {
    TaggedImages images;
    try {
      images = options_.validation_pictures(step);
    } catch (const std::exception& error) {
      logging::warn(std::string("TensorBoard pictures are no longer drawn: ") + error.what());
      options_.validation_pictures = nullptr;
      return;
    }
    for (const auto& [tag, image] : images) writer_->add_image(tag, image, step);
  }

  template <typename Action>
  void guarded(Action&& action) {
    try {
      action();
    } catch (const std::exception& error) {
      // The event files are for watching the run; the run itself goes on (metrics.jsonl stays
      // complete).
      logging::warn(std::string("TensorBoard events are no longer written: ") + error.what());
      writer_.reset();
    }
  }

  TensorBoardHookOptions options_;
  std::unique_ptr<LineFollower> metrics_;
  std::unique_ptr<TensorBoardWriter> writer_;
};

}  // namespace

std::vector<std::string> optimised_group_names(const std::vector<train::ParamGroup>& groups) {
  std::vector<std::string> names;
  for (const train::ParamGroup& group : groups) {
    for (const torch::Tensor& parameter : group.parameters) {
      if (parameter.requires_grad()) {
        names.push_back(group.name);
        break;
      }
    }
  }
  return names;
}

std::shared_ptr<train::Hook> make_tensorboard_hook(TensorBoardHookOptions options) {
  return std::make_shared<TensorBoardHook>(std::move(options));
}

}  // namespace rsd::pipeline
