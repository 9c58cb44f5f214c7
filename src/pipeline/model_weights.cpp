#include "rsd/pipeline/model_weights.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <mutex>
#include <sstream>

#include "rsd/pipeline/model_config.h"
#include "rsd/train/checkpoint.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"
#include "rsd/util/logging.h"

namespace rsd::pipeline {
namespace {

constexpr const char* kInitWeightsKey = "model.init_weights";
constexpr const char* kPretrainedKey = "model.image_encoder.pretrained";

// Python's names (str(t.dtype) without "torch."), so that a manifest reads the same on both sides.
std::string python_dtype_name(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kFloat16: return "float16";
    case torch::kBFloat16: return "bfloat16";
    case torch::kInt64: return "int64";
    case torch::kInt32: return "int32";
    case torch::kInt8: return "int8";
    case torch::kUInt8: return "uint8";
    case torch::kBool: return "bool";
    default: return c10::toString(dtype);
  }
}

// JSON has no literal for NaN or infinity; Python's json module reads these spellings.
std::string json_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  std::ostringstream text;
  text.precision(17);
  text << value;
  return text.str();
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Keeps the default CPU generator's state over a scope: building a model draws its initialisation
// and CheckpointManager::load restores the run's state, neither of which a reader of weights expects.
class RngStateGuard {
 public:
  RngStateGuard() : generator_(at::detail::getDefaultCPUGenerator()) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    state_ = generator_.get_state();
  }
  ~RngStateGuard() {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_state(state_);
  }
  RngStateGuard(const RngStateGuard&) = delete;
  RngStateGuard& operator=(const RngStateGuard&) = delete;

 private:
  at::Generator generator_;
  at::Tensor state_;
};

}  // namespace

model::E2EModel build_e2e_model(const Config& config) {
  if (!config.has_value(kInitWeightsKey)) return model::E2EModel(e2e_model_options_from(config));
  const std::string path = config.get<std::string>(kInitWeightsKey);
  if (config.has_value(kPretrainedKey)) {
    throw ConfigError(std::string(kInitWeightsKey) + " (" + config.origin(kInitWeightsKey) +
                      ") sets every weight, so " + kPretrainedKey + " (" +
                      config.origin(kPretrainedKey) + ") would be overwritten: set only one");
  }
  // Read before the model is built: a missing file is reported before any work.
  const model::NamedTensors tensors = model::read_named_tensors(path);
  model::E2EModel built(e2e_model_options_from(config));
  model::load_named_tensors_strict(*built, tensors, path + " (" + kInitWeightsKey + ")");
  logging::info("initial weights: " + std::to_string(tensors.size()) + " tensors from " + path);
  return built;
}

model::NamedTensors checkpoint_weights(const std::string& checkpoint) {
  const RngStateGuard keep_callers_random_numbers;
  const std::string stored_yaml = train::CheckpointManager::stored_config(checkpoint);
  if (stored_yaml.empty()) {
    throw CheckpointError(checkpoint + " stores no config, so its model cannot be built from it");
  }
  model::E2EModelOptions options = [&] {
    try {
      return e2e_model_options_from(Config::parse(stored_yaml, checkpoint + " (its stored config)"));
    } catch (const ConfigError& error) {
      throw CheckpointError(error.what());
    }
  }();
  options.image_encoder.pretrained("");  // every weight comes from the checkpoint
  model::E2EModel model(options);
  train::CheckpointManager::load(checkpoint, *model, nullptr);
  return model::named_tensors_of(*model);
}

torch::Dtype float_dtype_from(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "float16") return torch::kFloat16;
  if (name == "bfloat16") return torch::kBFloat16;
  throw ConfigError("unknown weights dtype '" + name + "' (float32, float16 or bfloat16)");
}

void write_weights_manifest(const std::string& path, const model::NamedTensors& tensors) {
  std::ostringstream json;
  json << "{\"tensors\": {";
  bool first = true;
  for (const auto& [name, tensor] : tensors) {
    json << (first ? "\n  " : ",\n  ") << json_string(name) << ": {\"dtype\": \""
         << python_dtype_name(tensor.scalar_type()) << "\", \"shape\": [";
    for (int64_t d = 0; d < tensor.dim(); ++d) json << (d == 0 ? "" : ", ") << tensor.size(d);
    json << "], \"sum\": "
         << json_number(tensor.detach().to(torch::kCPU, torch::kFloat64).sum().item<double>())
         << "}";
    first = false;
  }
  json << "\n}}\n";
  write_file_atomic(path, json.str());
}

}  // namespace rsd::pipeline
