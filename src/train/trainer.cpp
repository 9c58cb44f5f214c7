#include "rsd/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "builtin_hooks.h"
#include "rsd/dist/communicator.h"
#include "rsd/dist/gradient_sync.h"
#include "rsd/train/lr_schedule.h"
#include "rsd/util/logging.h"

namespace rsd::train {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kHookStateKey = "hooks";
constexpr const char* kLossScalerKey = "loss_scaler";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_values(const NamedValues& values) {
  std::ostringstream text;
  for (const auto& [name, value] : values) {
    text << (text.tellp() > 0 ? " " : "") << name << "=" << value;
  }
  return text.str();
}

bool is_valid_hook_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Sums "loss" and the terms of several StepResults, each weighted (by its samples in validation,
// 1 per micro-batch in training); the first one fixes the names.
class LossSums {
 public:
  void add(const StepResult& result, const char* step_name, double weight = 1.0) {
    RSD_CHECK(result.loss.defined() && result.loss.numel() == 1, step_name,
              " must return a scalar loss");
    if (names_.empty()) {
      names_.push_back("loss");
      for (const auto& term : result.terms) names_.push_back(term.first);
      sums_.assign(names_.size(), 0.0);
    } else {
      bool same = result.terms.size() + 1 == names_.size();
      for (std::size_t i = 0; same && i < result.terms.size(); ++i) {
        same = result.terms[i].first == names_[i + 1];
      }
      RSD_CHECK(same, step_name, " returned other loss terms than before (", names_.size() - 1,
                " terms first, ", result.terms.size(),
                " now): every step must name the same terms");
    }
    sums_[0] += weight * result.loss.item<double>();
    for (std::size_t i = 0; i < result.terms.size(); ++i) {
      sums_[i + 1] += weight * result.terms[i].second.item<double>();
    }
    weight_ += weight;
    ++count_;
  }

  int64_t count() const { return count_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<double>& sums() const { return sums_; }
  double weight() const { return weight_; }
  std::vector<double> means() const {
    std::vector<double> means = sums_;
    for (auto& value : means) value /= weight_ > 0.0 ? weight_ : 1.0;
    return means;
  }

 private:
  std::vector<std::string> names_;
  std::vector<double> sums_;
  double weight_ = 0.0;
  int64_t count_ = 0;
};

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The module's buffers as they were before a step's forwards. A training forward updates
// BatchNorm's running statistics (and counters) as it goes, before the trainer knows whether the
// step is good: one batch with NaN images would leave NaN in statistics that only evaluation
// reads, so every later validation would be NaN although the update was skipped. Restoring the
// snapshot makes a skipped bad step leave no trace. Every buffer is kept, integer counters too
// (num_batches_tracked drives the cumulative average when momentum is unset); they are small next
// to a forward, and the copies reuse their storage from step to step.
class BufferSnapshot {
 public:
  void capture(const torch::nn::Module& module) {
    std::vector<torch::Tensor> buffers = module.buffers(/*recurse=*/true);
    torch::NoGradGuard no_grad;
    if (!same_layout(buffers)) {
      saved_.clear();
      for (const auto& buffer : buffers) saved_.push_back(buffer.detach().clone());
      buffers_ = std::move(buffers);
      return;
    }
    for (std::size_t i = 0; i < buffers.size(); ++i) saved_[i].copy_(buffers[i]);
  }

  void restore() {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < buffers_.size(); ++i) buffers_[i].detach().copy_(saved_[i]);
  }

 private:
  // Whether the copies still fit the module's buffers (the same tensors, shapes, types, devices).
  bool same_layout(const std::vector<torch::Tensor>& buffers) const {
    if (buffers.size() != buffers_.size()) return false;
    for (std::size_t i = 0; i < buffers.size(); ++i) {
      if (!buffers[i].is_same(buffers_[i]) || buffers[i].sizes() != saved_[i].sizes() ||
          buffers[i].scalar_type() != saved_[i].scalar_type() ||
          buffers[i].device() != saved_[i].device()) {
        return false;
      }
    }
    return true;
  }

  std::vector<torch::Tensor> buffers_;  // the module's own
  std::vector<torch::Tensor> saved_;    // their values before the step
};

NamedValues zip(const std::vector<std::string>& names, const std::vector<double>& values) {
  NamedValues result;
  for (std::size_t i = 0; i < names.size(); ++i) result.emplace_back(names[i], values[i]);
  return result;
}

}  // namespace

struct TrainerBase::Impl {
  Impl(TrainerState state, TrainerOptions options, torch::nn::Module& module, int64_t batch_size,
       bool has_validation, std::shared_ptr<dist::Communicator> communicator)
      : state(std::move(state)), options(std::move(options)), module(module),
        batch_size(batch_size), has_validation(has_validation),
        communicator(std::move(communicator)) {}

  TrainerState state;
  TrainerOptions options;
  torch::nn::Module& module;
  int64_t batch_size;
  bool has_validation;
  std::shared_ptr<dist::Communicator> communicator;

  std::vector<torch::Tensor> parameters;  // the optimised ones, in registration order
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<WarmupCosineSchedule> schedule;
  std::unique_ptr<dist::GradientSynchronizer> sync;
  std::unique_ptr<CheckpointManager> checkpoints;
  std::unique_ptr<DynamicLossScaler> scaler;  // fp16 only
  BufferSnapshot buffers_before_step;         // restored when a step is skipped as bad
  torch::Device device = torch::kCPU;         // the module's, for autocast; set by run()
  std::vector<std::shared_ptr<Hook>> hooks;

  bool started = false;
  int64_t batch_in_epoch = 0;  // batches this rank consumed in progress.epoch
  double last_loss = 0.0;
  std::string last_checkpoint;

  bool writes_files() const { return communicator->is_main() && !options.run_dir.empty(); }
  int64_t samples_per_batch() const { return batch_size * communicator->world_size(); }

  // AdamW over the groups' parameters (each parameter that requires a gradient in exactly one
  // group), with the schedule's multiplier per group.
  void build_optimizer(const std::vector<ParamGroup>& groups) {
    std::unordered_map<const void*, std::size_t> group_of;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      for (const auto& parameter : groups[g].parameters) {
        if (!parameter.requires_grad()) continue;
        if (!group_of.emplace(parameter.unsafeGetTensorImpl(), g).second) {
          throw Error("a parameter is in two parameter groups (the second is '" + groups[g].name +
                      "')");
        }
      }
    }
    std::vector<std::vector<torch::Tensor>> members(groups.size());
    for (const auto& item : module.named_parameters(/*recurse=*/true)) {
      if (!item.value().requires_grad()) continue;
      const auto found = group_of.find(item.value().unsafeGetTensorImpl());
      if (found == group_of.end()) {
        throw Error("parameter " + item.key() +
                    " requires a gradient but is in no parameter group of the train module");
      }
      members[found->second].push_back(item.value());
      parameters.push_back(item.value());
      group_of.erase(found);
    }
    if (!group_of.empty()) {
      throw Error("a parameter group holds a tensor that is not a parameter of the module");
    }
    std::vector<torch::optim::OptimizerParamGroup> optimizer_groups;
    std::vector<double> multipliers;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (members[g].empty()) continue;
      RSD_CHECK(groups[g].lr_mult >= 0.0, "parameter group '", groups[g].name,
                "' has a negative learning-rate multiplier ", groups[g].lr_mult);
      optimizer_groups.emplace_back(members[g]);
      multipliers.push_back(groups[g].lr_mult);
    }
    RSD_CHECK(!optimizer_groups.empty(),
              "the train module has no parameter that requires a gradient");
    optimizer = std::make_unique<torch::optim::AdamW>(
        optimizer_groups,
        torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));
    LrScheduleOptions schedule_options;
    schedule_options.base_lr = options.lr;
    schedule_options.total_steps = options.steps;
    schedule_options.warmup_steps = options.warmup_steps;
    schedule = std::make_unique<WarmupCosineSchedule>(schedule_options, multipliers);
  }

  // Everything a checkpoint holds besides weights, optimiser and progress.
  void write_extra_state(torch::serialize::OutputArchive& archive) const {
    write_hook_states(archive);
    if (scaler) {
      torch::serialize::OutputArchive own;
      scaler->save(own);
      archive.write(kLossScalerKey, own);
    }
  }

  void read_extra_state(torch::serialize::InputArchive& archive) {
    read_hook_states(archive);
    if (!scaler) return;
    torch::serialize::InputArchive own;
    if (archive.try_read(kLossScalerKey, own)) {
      scaler->load(own);
    } else {
      logging::warn("the checkpoint holds no fp16 loss scale (saved without train.amp: fp16): "
                    "starting from the initial scale " + std::to_string(scaler->scale_value()));
    }
  }

  void write_hook_states(torch::serialize::OutputArchive& archive) const {
    torch::serialize::OutputArchive states;
    for (const auto& hook : hooks) {
      torch::serialize::OutputArchive own;
      hook->save(own);
      states.write(hook->name(), own);
    }
    archive.write(kHookStateKey, states);
  }

  void read_hook_states(torch::serialize::InputArchive& archive) {
    torch::serialize::InputArchive states;
    if (!archive.try_read(kHookStateKey, states)) return;  // written before hooks had state
    for (const auto& name : states.keys()) {
      torch::serialize::InputArchive own;
      if (!states.try_read(name, own)) continue;  // not a hook's archive
      const auto hook = std::find_if(hooks.begin(), hooks.end(),
                                     [&](const auto& h) { return h->name() == name; });
      if (hook != hooks.end()) {
        (*hook)->load(own);
      } else {
        logging::warn("the checkpoint holds state of hook '" + name +
                      "', which this trainer does not have: ignored");
      }
    }
  }

  // Restores the newest checkpoint of the run directory. With several ranks only rank 0 reads
  // checkpoints (only it writes them: on machines without a shared file system the others have
  // none, or stale ones of another run) and hands the others everything it restored but the
  // module, which broadcast_module carries: progress, optimiser state, loss scale, hook states
  // and the RNG state. Every rank then continues from the same step with the same state.
  std::optional<TrainingProgress> resume_from_checkpoint() {
    const ExtraStateReader read_extra = [&](torch::serialize::InputArchive& archive) {
      read_extra_state(archive);
    };
    if (communicator->world_size() == 1) return checkpoints->resume(module, *optimizer, read_extra);
    std::optional<TrainingProgress> restored;
    std::string state_bytes;
    std::string optimizer_bytes;
    if (communicator->is_main()) {
      std::exception_ptr failure;
      std::string reason;
      try {
        restored = checkpoints->resume(module, *optimizer, read_extra);
      } catch (const std::exception& e) {
        failure = std::current_exception();
        reason = e.what();
      }
      state_bytes = encode_resumed_state(restored, reason, optimizer_bytes);
      communicator->broadcast_bytes(state_bytes);
      communicator->broadcast_bytes(optimizer_bytes);
      if (failure) std::rethrow_exception(failure);  // the others stop with the reason too
      return restored;
    }
    communicator->broadcast_bytes(state_bytes);
    communicator->broadcast_bytes(optimizer_bytes);
    return decode_resumed_state(state_bytes, optimizer_bytes);
  }

  // Rank 0's restored state; the optimiser's goes into `optimizer_bytes`, an archive of its own,
  // which the others load onto their parameters' device.
  std::string encode_resumed_state(const std::optional<TrainingProgress>& restored,
                                   const std::string& failure,
                                   std::string& optimizer_bytes) const {
    torch::serialize::OutputArchive archive;
    archive.write("failure", c10::IValue(failure));
    archive.write("restored", c10::IValue(restored.has_value()));
    if (restored) {
      write_progress(archive, *restored);
      write_extra_state(archive);
      at::Generator generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      archive.write("rng_state", generator.get_state());
      torch::serialize::OutputArchive optimizer_archive;
      optimizer->save(optimizer_archive);
      std::ostringstream optimizer_stream;
      optimizer_archive.save_to(optimizer_stream);
      optimizer_bytes = optimizer_stream.str();
    }
    std::ostringstream stream;
    archive.save_to(stream);
    return stream.str();
  }

  std::optional<TrainingProgress> decode_resumed_state(const std::string& state_bytes,
                                                       const std::string& optimizer_bytes) {
    torch::serialize::InputArchive archive;
    archive.load_from(state_bytes.data(), state_bytes.size(), torch::Device(torch::kCPU));
    c10::IValue value;
    archive.read("failure", value);
    if (!value.toStringRef().empty()) {
      throw CheckpointError("rank 0 could not resume the run, so neither can rank " +
                            std::to_string(communicator->rank()) + ": " + value.toStringRef());
    }
    archive.read("restored", value);
    if (!value.toBool()) return std::nullopt;
    TrainingProgress progress = read_progress(archive);
    read_extra_state(archive);
    torch::Tensor rng_state;
    archive.read("rng_state", rng_state);
    {
      at::Generator generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(rng_state);
    }
    torch::serialize::InputArchive optimizer_archive;
    optimizer_archive.load_from(optimizer_bytes.data(), optimizer_bytes.size(),
                                parameters.front().device());
    optimizer->load(optimizer_archive);
    return progress;
  }

  // The validation losses of every rank's samples: the sums weighted by samples, added over the
  // ranks, over the samples of all ranks. A rank may have no batch (fewer samples than ranks):
  // it then learns the names and the number of terms from the others.
  NamedValues combine_validation(const LossSums& sums) {
    if (communicator->world_size() == 1) {
      RSD_CHECK(sums.count() > 0, "the validation batch source yields no batch");
      return zip(sums.names(), sums.means());
    }
    const bool has_batches = sums.count() > 0;
    const double ranks = static_cast<double>(communicator->world_size());
    const std::vector<double> shape = communicator->mean(
        {has_batches ? static_cast<double>(sums.names().size()) : 0.0, has_batches ? 1.0 : 0.0});
    RSD_CHECK(shape[1] > 0.0, "the validation batch source yields no batch on any rank");
    const auto ranks_with_batches = static_cast<int64_t>(std::llround(shape[1] * ranks));
    const auto terms = static_cast<std::size_t>(std::llround(shape[0] / shape[1]));
    std::vector<std::string> names = sums.names();
    RSD_CHECK(!has_batches || names.size() == terms, "rank ", communicator->rank(), " has ",
              names.size(), " validation loss terms, the ranks ", terms, " on average");
    if (ranks_with_batches < communicator->world_size()) {
      // Rank 0 reads at least as many samples as any other (the loader's shards), so it has them.
      std::string text = join_lines(names);
      communicator->broadcast_bytes(text);
      names = split_lines(text);
      RSD_CHECK(names.size() == terms, "rank 0 has no validation batch but rank ",
                communicator->rank(), " has");
    }
    std::vector<double> totals = has_batches ? sums.sums() : std::vector<double>(terms, 0.0);
    totals.push_back(sums.weight());
    // Means of sums over ranks: their ratio is the ratio of the sums.
    const std::vector<double> averaged = communicator->mean(std::move(totals));
    std::vector<double> means(averaged.begin(), averaged.end() - 1);
    for (double& mean : means) mean /= averaged.back();
    return zip(names, means);
  }
};

// TrainerState's view of the trainer.
const TrainerOptions& TrainerState::options() const { return trainer_->impl_->options; }
int TrainerState::rank() const { return trainer_->impl_->communicator->rank(); }
int TrainerState::world_size() const { return trainer_->impl_->communicator->world_size(); }
bool TrainerState::writes_files() const { return trainer_->impl_->writes_files(); }
torch::nn::Module& TrainerState::module() const { return trainer_->impl_->module; }
torch::optim::Optimizer& TrainerState::optimizer() const { return *trainer_->impl_->optimizer; }
NamedValues TrainerState::validate() { return trainer_->validate(); }
std::string TrainerState::save_checkpoint(bool is_best) {
  return trainer_->save_checkpoint(is_best);
}
void TrainerState::request_stop(std::string reason) {
  stop_requested_ = true;
  stop_reason_ = std::move(reason);
}

TrainerBase::TrainerBase(TrainerOptions options, torch::nn::Module& module,
                         std::vector<ParamGroup> groups, int64_t batch_size, bool has_validation,
                         std::shared_ptr<dist::Communicator> communicator) {
  RSD_CHECK(options.steps > 0, "steps must be positive, got ", options.steps);
  RSD_CHECK(options.accumulate >= 1, "accumulate must be at least 1, got ", options.accumulate);
  RSD_CHECK(options.log_every >= 1, "log_every must be at least 1, got ", options.log_every);
  RSD_CHECK(options.max_bad_steps >= 1, "max_bad_steps must be at least 1, got ",
            options.max_bad_steps);
  RSD_CHECK(batch_size >= 1, "the training batch source reports a batch size of ", batch_size);
  if (!communicator) communicator = std::make_shared<dist::Communicator>(dist::DistOptions{});
  impl_ = std::make_unique<Impl>(TrainerState(*this), std::move(options), module, batch_size,
                                 has_validation, std::move(communicator));
  Impl& s = *impl_;
  s.build_optimizer(groups);
  if (s.options.amp == Precision::fp16) {
    s.scaler = std::make_unique<DynamicLossScaler>(s.options.loss_scale);
  }
  if (!s.options.run_dir.empty()) {
    s.checkpoints = std::make_unique<CheckpointManager>(
        s.options.run_dir + "/checkpoints", static_cast<int>(s.options.keep_checkpoints));
    // Only the process that saves may clean: it alone knows that no save is under way.
    if (s.writes_files()) s.checkpoints->remove_stale_temporaries();
  }
  add_hook(make_progress_hook());
  if (has_validation && s.options.val_every > 0) add_hook(make_validation_hook());
  add_hook(make_checkpoint_hook());
  add_hook(make_metrics_hook());
}

TrainerBase::~TrainerBase() = default;

void TrainerBase::add_hook(std::shared_ptr<Hook> hook) {
  Impl& s = *impl_;
  RSD_CHECK(hook != nullptr, "add_hook needs a hook");
  RSD_CHECK(!s.started, "hooks must be added before run()");
  const std::string name = hook->name();
  RSD_CHECK(is_valid_hook_name(name), "hook name '", name,
            "' must be letters, digits and '_' (it keys the hook's checkpoint state)");
  for (const auto& other : s.hooks) {
    RSD_CHECK(other->name() != name, "a hook named '", name, "' is already registered");
  }
  s.hooks.push_back(std::move(hook));
}

const TrainerState& TrainerBase::state() const { return impl_->state; }

torch::optim::Optimizer& TrainerBase::optimizer() { return *impl_->optimizer; }

std::vector<double> TrainerBase::mean_over_ranks(std::vector<double> values) {
  // On the communicator's own device for values: NCCL reduces CUDA tensors only.
  return impl_->communicator->mean(std::move(values));
}

std::string TrainerBase::save_checkpoint(bool is_best) {
  Impl& s = *impl_;
  s.state.progress.config_yaml = s.options.config_yaml;
  std::string path;
  if (s.writes_files()) {
    path = s.checkpoints->save(
        s.state.progress, s.module, *s.optimizer, is_best,
        [&](torch::serialize::OutputArchive& archive) { s.write_extra_state(archive); });
    s.last_checkpoint = path;
  }
  s.communicator->barrier();  // no rank races ahead of a checkpoint it may need to resume from
  s.state.checkpoint_step_ = s.state.progress.step;
  return path;
}

NamedValues TrainerBase::validate() {
  Impl& s = *impl_;
  RSD_CHECK(s.has_validation, "validation needs a validation batch source");
  const bool was_training = s.module.is_training();
  torch::NoGradGuard no_grad;
  s.module.eval();
  LossSums sums;
  try {
    dist::broadcast_buffers(*s.communicator, s.module);  // every rank evaluates the same model
    start_validation();
    const AutocastScope autocast(s.device, s.options.amp);
    while (auto step = validation_step()) {
      RSD_CHECK(step->second > 0, "a validation batch of ", step->second, " samples");
      sums.add(step->first, "validation_step", static_cast<double>(step->second));
      if (sums.count() == s.options.val_batches) break;
    }
  } catch (...) {
    s.module.train(was_training);
    throw;
  }
  s.module.train(was_training);
  return s.combine_validation(sums);
}

void TrainerBase::next_batch() {
  Impl& s = *impl_;
  TrainingProgress& progress = s.state.progress;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fetch_batch()) {
      ++s.batch_in_epoch;
      progress.samples_in_epoch = s.batch_in_epoch * s.samples_per_batch();
      return;
    }
    ++progress.epoch;
    s.batch_in_epoch = 0;
    progress.samples_in_epoch = 0;
    start_epoch(progress.epoch, 0);
  }
  throw Error("the training batch source yields no batch in epoch " +
              std::to_string(progress.epoch) + " on rank " +
              std::to_string(s.communicator->rank()) + " (fewer samples than the batch size " +
              std::to_string(s.batch_size) + "?)");
}

void TrainerBase::run_step() {
  Impl& s = *impl_;
  TrainerState& state = s.state;
  const TrainerOptions& o = s.options;
  const auto step_start = Clock::now();
  const int64_t step = state.progress.step;  // 0-based index of this step
  state.validation.reset();
  state.improved = false;
  s.schedule->apply(*s.optimizer, step);
  s.optimizer->zero_grad();
  for (const auto& hook : s.hooks) hook->before_step(state);

  // Every rank's forward updated its buffers from its own batch: start each step from rank 0's,
  // as DistributedDataParallel does (broadcast_buffers). Before the snapshot, so that a bad step
  // restores the common values.
  dist::broadcast_buffers(*s.communicator, s.module);
  s.buffers_before_step.capture(s.module);
  LossSums sums;
  double data_wait = 0.0;
  for (int64_t micro = 0; micro < o.accumulate; ++micro) {
    const auto wait_start = Clock::now();
    next_batch();
    data_wait += seconds_since(wait_start);
    StepResult result;
    {
      const AutocastScope autocast(s.device, o.amp);
      result = training_step();
    }
    if (s.sync && micro == o.accumulate - 1) s.sync->arm();
    const torch::Tensor loss = result.loss / static_cast<double>(o.accumulate);
    (s.scaler ? s.scaler->scale(loss) : loss).backward();
    sums.add(result, "training_step");
  }
  if (s.sync) s.sync->finish();
  const std::vector<double> means = mean_over_ranks(sums.means());
  // After the all-reduce every rank holds the same gradients, so all find the same overflow.
  const bool overflow = s.scaler && !s.scaler->unscale(s.parameters);

  StepRecord& record = state.last_step;
  record = StepRecord{};
  record.losses = zip(sums.names(), means);
  record.lr = s.schedule->lr_at(step);
  record.samples = o.accumulate * s.samples_per_batch();
  if (s.scaler) record.loss_scale = s.scaler->scale_value();
  for (const auto& hook : s.hooks) hook->after_backward(state);

  ++state.progress.step;
  // A finite loss can still have non-finite gradients (an op whose derivative is infinite where
  // its value is not, e.g. sqrt at 0): the global norm, which clipping computes anyway, catches
  // them. fp16 overflow was already found by unscale and keeps its own path: the forward was
  // sound there (only the scale was too large), so its buffer updates stand, as with PyTorch's
  // GradScaler. After the all-reduce every rank holds the same gradients and the same means, so
  // all ranks take the same branch.
  const bool finite_loss = std::isfinite(means[0]);
  double grad_norm = 0.0;
  if (finite_loss && !overflow) {
    const double max_norm =
        o.grad_clip > 0.0 ? o.grad_clip : std::numeric_limits<double>::infinity();
    grad_norm = torch::nn::utils::clip_grad_norm_(s.parameters, max_norm);
  }
  if (!finite_loss || !std::isfinite(grad_norm)) {
    s.optimizer->zero_grad();
    s.buffers_before_step.restore();
    record.skipped = true;
    ++state.progress.bad_steps;
    const std::string what = finite_loss
                                 ? "non-finite gradient norm " + std::to_string(grad_norm) +
                                       " with a finite loss"
                                 : std::string("non-finite loss");
    logging::warn("step " + std::to_string(state.progress.step) + ": " + what + " (" +
                  format_values(record.losses) +
                  "); update skipped and buffers restored (" +
                  std::to_string(state.progress.bad_steps) + " bad steps in a row)");
    if (s.scaler) s.scaler->update(/*overflow=*/true);
    if (state.progress.bad_steps >= o.max_bad_steps) {
      const std::string path = save_checkpoint(false);
      throw Error("training stopped: " + std::to_string(state.progress.bad_steps) +
                  " consecutive non-finite losses or gradients (max_bad_steps) at step " +
                  std::to_string(state.progress.step) +
                  (path.empty() ? std::string() : "; checkpoint " + path));
    }
  } else if (overflow) {
    s.optimizer->zero_grad();
    record.skipped = true;
    record.overflow = true;
    s.scaler->update();
    logging::info("step " + std::to_string(state.progress.step) +
                  ": fp16 gradients overflowed at loss scale " +
                  std::to_string(record.loss_scale) + "; update skipped, scale lowered to " +
                  std::to_string(s.scaler->scale_value()));
  } else {
    state.progress.bad_steps = 0;
    if (s.scaler) s.scaler->update();
    record.grad_norm = grad_norm;
    s.optimizer->step();
    s.last_loss = means[0];
  }
  record.seconds = seconds_since(step_start);
  record.data_wait_seconds = data_wait;
  for (const auto& hook : s.hooks) hook->after_step(state);
}

TrainSummary TrainerBase::run(bool resume) {
  Impl& s = *impl_;
  TrainerState& state = s.state;
  const TrainerOptions& o = s.options;
  RSD_CHECK(!s.started, "run() can be called once per Trainer");
  s.started = true;
  std::stable_sort(s.hooks.begin(), s.hooks.end(),
                   [](const auto& a, const auto& b) { return a->priority() < b->priority(); });

  state.resuming_ = resume && s.checkpoints;
  if (state.resuming_) {
    const auto restored = s.resume_from_checkpoint();
    if (restored) {
      state.progress = *restored;
      logging::info("resumed at step " + std::to_string(state.progress.step) + " (epoch " +
                    std::to_string(state.progress.epoch) + ")");
    } else {
      logging::info("no checkpoint to resume from: starting afresh");
    }
  }
  dist::broadcast_module(*s.communicator, s.module);
  s.device = s.parameters.front().device();
  RSD_CHECK(autocast_supported(s.device, o.amp), "mixed precision ", to_string(o.amp),
            " is not available on ", s.device.str(), " with this libtorch",
            s.device.is_cpu() ? " (its CPU autocast takes bf16 only)" : "");
  if (s.communicator->world_size() > 1) {
    s.sync = std::make_unique<dist::GradientSynchronizer>(s.communicator, s.parameters,
                                                          s.communicator->options().bucket_mb);
  }
  s.batch_in_epoch = state.progress.samples_in_epoch / s.samples_per_batch();
  start_epoch(state.progress.epoch, s.batch_in_epoch);
  s.module.train();
  state.end_step_ =
      o.stop_after > 0 ? std::min(o.steps, state.progress.step + o.stop_after) : o.steps;

  try {
    for (const auto& hook : s.hooks) hook->before_train(state);
    while (state.progress.step < state.end_step_ && !state.stop_requested()) run_step();
    dist::broadcast_buffers(*s.communicator, s.module);  // the last forward updated them per rank
  } catch (...) {
    for (const auto& hook : s.hooks) {
      try {
        hook->after_train(state, false);
      } catch (const std::exception& e) {
        logging::warn("hook '" + hook->name() + "' failed after the run failed: " + e.what());
      }
    }
    throw;
  }
  if (state.stop_requested()) {
    logging::info("stopped at step " + std::to_string(state.progress.step) + ": " +
                  state.stop_reason());
  }
  for (const auto& hook : s.hooks) hook->after_train(state, true);

  TrainSummary summary;
  summary.step = state.progress.step;
  summary.last_loss = s.last_loss;
  summary.best_val = state.progress.best_metric;
  summary.last_checkpoint = s.last_checkpoint;
  return summary;
}

}  // namespace rsd::train
