#include "rsd/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>
#include <type_traits>

#include "rsd/util/archive_integrity.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"
#include "rsd/util/logging.h"
#include "rsd/util/torch_compat.h"

namespace rsd::train {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kFormatVersion = 1;
constexpr const char* kLastFile = "last";

// Parameters and buffers by their dotted names. Module::load would accept a tensor of another
// shape silently (it re-assigns storage), so names and shapes are checked here.
void write_module(torch::serialize::OutputArchive& archive, const torch::nn::Module& model) {
  c10::List<std::string> names;
  c10::List<at::Tensor> tensors;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    names.push_back("param:" + item.key());
    tensors.push_back(item.value().detach());
  }
  for (const auto& item : model.named_buffers(/*recurse=*/true)) {
    names.push_back("buffer:" + item.key());
    tensors.push_back(item.value().detach());
  }
  archive.write("model_names", c10::IValue(names));
  archive.write("model_tensors", c10::IValue(tensors));
}

void read_module(torch::serialize::InputArchive& archive, torch::nn::Module& model,
                 const std::string& path) {
  c10::IValue names_value;
  c10::IValue tensors_value;
  archive.read("model_names", names_value);
  archive.read("model_tensors", tensors_value);
  const auto names = names_value.toList();
  const auto tensors = tensors_value.toTensorList();
  std::map<std::string, at::Tensor> stored;
  for (std::size_t i = 0; i < names.size(); ++i) stored[names.get(i).toStringRef()] = tensors.get(i);

  // Everything is checked before anything is copied, so a mismatch leaves the model untouched.
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // (model tensor, stored tensor)
  auto match = [&](const std::string& key, const at::Tensor& target) {
    const auto found = stored.find(key);
    if (found == stored.end()) {
      throw CheckpointError(path + ": has no " + key + " (a checkpoint of another model?)");
    }
    if (found->second.sizes() != target.sizes()) {
      std::ostringstream text;
      text << path << ": " << key << " has shape " << found->second.sizes() << ", the model expects "
           << target.sizes();
      throw CheckpointError(text.str());
    }
    copies.emplace_back(target, found->second);
    stored.erase(found);
  };
  for (const auto& item : model.named_parameters(true)) match("param:" + item.key(), item.value());
  for (const auto& item : model.named_buffers(true)) match("buffer:" + item.key(), item.value());
  if (!stored.empty()) {
    throw CheckpointError(path + ": holds " + stored.begin()->first + ", which the model lacks");
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(source);
}

// The archive is read into CPU tensors (so a checkpoint saved on a GPU loads without one); the
// optimiser's per-parameter state must then live where its parameter lives. Covers the
// optimisers with tensor state that libtorch has for first-order training (AdamW, Adam, SGD).
void move_optimizer_state_to_parameters(torch::optim::Optimizer& optimizer,
                                        const std::string& path) {
  auto& states = optimizer.state();
  for (auto& group : optimizer.param_groups()) {
    for (const auto& parameter : group.params()) {
      const auto found = torch_compat::find_optimizer_state(states, parameter);
      if (found == states.end()) continue;
      const torch::Device device = parameter.device();
      auto move = [&](const torch::Tensor& t) { return t.defined() ? t.to(device) : t; };
      torch::optim::OptimizerParamState* state = found->second.get();
      if (auto* adamw = dynamic_cast<torch::optim::AdamWParamState*>(state)) {
        adamw->exp_avg(move(adamw->exp_avg()));
        adamw->exp_avg_sq(move(adamw->exp_avg_sq()));
        adamw->max_exp_avg_sq(move(adamw->max_exp_avg_sq()));
      } else if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(state)) {
        adam->exp_avg(move(adam->exp_avg()));
        adam->exp_avg_sq(move(adam->exp_avg_sq()));
        adam->max_exp_avg_sq(move(adam->max_exp_avg_sq()));
      } else if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(state)) {
        sgd->momentum_buffer(move(sgd->momentum_buffer()));
      } else if (!device.is_cpu()) {
        throw CheckpointError(path + ": optimiser state of this optimiser type cannot be moved to " +
                              device.str() + " (AdamW, Adam and SGD can)");
      }
    }
  }
}

at::Generator default_generator() { return at::detail::getDefaultCPUGenerator(); }

int64_t step_of(const fs::path& file) {
  static const std::regex pattern(R"(step_(\d+)\.pt)");
  std::smatch match;
  const std::string name = file.filename().string();
  return std::regex_match(name, match, pattern) ? std::stoll(match[1]) : -1;
}

// A temporary of write_file_atomic: "<name>.tmp.<pid>.<counter>".
bool is_temporary(const fs::path& file) {
  static const std::regex pattern(R"(.+\.tmp\.\d+\.\d+)");
  return std::regex_match(file.filename().string(), pattern);
}

// Step checkpoints in the directory, newest first.
std::vector<fs::path> step_files(const std::string& directory) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    if (step_of(entry.path()) >= 0) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return step_of(a) > step_of(b); });
  return files;
}

// Reads `path` into `archive` (CPU tensors) and checks that this build reads its format. The
// zip's CRCs are checked first: libtorch does not, and a damaged pickle can crash its reader.
void open_checkpoint(torch::serialize::InputArchive& archive, const std::string& path) {
  verify_zip_file(path);
  try {
    archive.load_from(path, torch::Device(torch::kCPU));
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": not a readable checkpoint (" + e.what_without_backtrace() + ")");
  } catch (const std::exception& e) {  // e.g. torch::jit::ErrorReport: a damaged type in the pickle
    throw CheckpointError(path + ": not a readable checkpoint (" + e.what() + ")");
  }
  try {
    c10::IValue version;
    archive.read("format_version", version);
    if (version.toInt() != kFormatVersion) {
      throw CheckpointError(path + ": checkpoint format " + std::to_string(version.toInt()) +
                            ", this build reads format " + std::to_string(kFormatVersion));
    }
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": " + e.what_without_backtrace());
  }
}

}  // namespace

CheckpointManager::CheckpointManager(std::string directory, int keep_last)
    : directory_(std::move(directory)), keep_last_(keep_last) {
  RSD_CHECK(keep_last_ >= 1, "keep at least one checkpoint, got ", keep_last_);
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec) throw CheckpointError("cannot create checkpoint folder " + directory_ + ": " + ec.message());
}

void write_progress(torch::serialize::OutputArchive& archive, const TrainingProgress& progress) {
  archive.write("step", c10::IValue(progress.step));
  archive.write("epoch", c10::IValue(progress.epoch));
  archive.write("samples_in_epoch", c10::IValue(progress.samples_in_epoch));
  archive.write("best_metric", c10::IValue(progress.best_metric));
  archive.write("bad_steps", c10::IValue(progress.bad_steps));
  archive.write("config_yaml", c10::IValue(progress.config_yaml));
}

TrainingProgress read_progress(torch::serialize::InputArchive& archive) {
  c10::IValue value;
  TrainingProgress progress;
  archive.read("step", value);
  progress.step = value.toInt();
  archive.read("epoch", value);
  progress.epoch = value.toInt();
  archive.read("samples_in_epoch", value);
  progress.samples_in_epoch = value.toInt();
  archive.read("best_metric", value);
  progress.best_metric = value.toDouble();
  archive.read("bad_steps", value);
  progress.bad_steps = value.toInt();
  archive.read("config_yaml", value);
  progress.config_yaml = value.toStringRef();
  return progress;
}

std::string CheckpointManager::save(const TrainingProgress& progress, const torch::nn::Module& model,
                                    const torch::optim::Optimizer& optimizer, bool is_best,
                                    const ExtraStateWriter& write_extra) const {
  torch::serialize::OutputArchive archive;
  archive.write("format_version", c10::IValue(kFormatVersion));
  write_progress(archive, progress);
  write_module(archive, model);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  if (write_extra) write_extra(archive);
  {
    at::Generator generator = default_generator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("rng_state", generator.get_state());
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  const std::string contents = bytes.str();

  const std::string path = directory_ + "/step_" + std::to_string(progress.step) + ".pt";
  write_file_atomic(path, contents);
  if (is_best) write_file_atomic(directory_ + "/best.pt", contents);
  write_file_atomic(directory_ + "/" + kLastFile, fs::path(path).filename().string() + "\n");

  const auto files = step_files(directory_);
  for (std::size_t i = static_cast<std::size_t>(keep_last_); i < files.size(); ++i) {
    std::error_code ec;
    fs::remove(files[i], ec);
  }
  return path;
}

TrainingProgress CheckpointManager::load(const std::string& path, torch::nn::Module& model,
                                         torch::optim::Optimizer* optimizer,
                                         const ExtraStateReader& read_extra) {
  torch::serialize::InputArchive archive;
  open_checkpoint(archive, path);
  try {
    TrainingProgress progress = read_progress(archive);
    read_module(archive, model, path);
    if (optimizer != nullptr) {
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer->load(optimizer_archive);
      move_optimizer_state_to_parameters(*optimizer, path);
    }
    if (read_extra) read_extra(archive);
    at::Tensor rng_state;
    archive.read("rng_state", rng_state);
    at::Generator generator = default_generator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng_state);
    return progress;
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": " + e.what_without_backtrace());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // e.g. torch::jit::ObjectAttributeError of Optimizer::load
    throw CheckpointError(path + ": " + e.what());
  }
}

std::string CheckpointManager::stored_config(const std::string& path) {
  torch::serialize::InputArchive archive;
  open_checkpoint(archive, path);
  try {
    c10::IValue value;
    archive.read("config_yaml", value);
    return value.toStringRef();
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": " + e.what_without_backtrace());
  }
}

std::optional<TrainingProgress> CheckpointManager::resume(torch::nn::Module& model,
                                                          torch::optim::Optimizer& optimizer,
                                                          const ExtraStateReader& read_extra) const {
  // By step number: `last` is written after the checkpoint it names, so a kill between the two
  // leaves it pointing at an older file while a newer, complete one exists.
  std::vector<fs::path> candidates = step_files(directory_);
  std::error_code ec;
  const fs::path last = fs::path(directory_) / kLastFile;
  if (fs::exists(last, ec)) {
    std::string name = read_file(last.string());
    name.erase(name.find_last_not_of(" \n\r\t") + 1);
    const fs::path named = fs::path(directory_) / name;
    if (!candidates.empty() && candidates.front() != named) {
      logging::warn(last.string() + " names " + name + " but " +
                    candidates.front().filename().string() +
                    " is newer (the run stopped between writing the two): resuming from the "
                    "newest checkpoint that loads");
    }
    // A file `last` names outside the step_<N>.pt pattern is the last resort.
    if (std::find(candidates.begin(), candidates.end(), named) == candidates.end()) {
      candidates.push_back(named);
    }
  }
  int broken = 0;
  for (const auto& file : candidates) {
    if (!fs::exists(file, ec)) continue;
    try {
      return load(file.string(), model, &optimizer, read_extra);
    } catch (const CheckpointError& e) {
      // A file cut short by a crash must not end the run: the previous one is still good.
      logging::warn(std::string("skipping checkpoint: ") + e.what());
      ++broken;
    }
  }
  if (broken > 0) {
    // Starting afresh would silently discard the run: refuse instead.
    throw CheckpointError("none of the " + std::to_string(broken) + " checkpoints in " + directory_ +
                          " could be loaded (see the warnings above)");
  }
  return std::nullopt;
}

int CheckpointManager::remove_stale_temporaries() const {
  std::vector<fs::path> stale;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    if (is_temporary(entry.path()) && entry.is_regular_file(ec)) stale.push_back(entry.path());
  }
  int removed = 0;
  for (const auto& file : stale) {
    if (fs::remove(file, ec)) {
      ++removed;
    } else if (ec) {
      logging::warn("cannot remove the stale temporary " + file.string() + ": " + ec.message());
    }
  }
  if (removed > 0) {
    logging::info("removed " + std::to_string(removed) + " temporary file(s) of unfinished saves from " +
                  directory_);
  }
  return removed;
}

}  // namespace rsd::train
