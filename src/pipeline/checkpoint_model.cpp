#include "rsd/pipeline/checkpoint_model.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>
#include <vector>

#include "config/config_node.h"
#include "config/yaml_io.h"
#include "rsd/pipeline/device.h"
#include "rsd/pipeline/model_config.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"

namespace rsd::pipeline {

namespace {

using detail::ConfigNode;
using Kind = ConfigNode::Kind;

// The keys that fix the network a checkpoint holds (the sections of ModelSource).
const std::vector<std::string>& network_sections() {
  static const std::vector<std::string> sections = {"model", "data.image", "data.grid",
                                                    "data.waypoints"};
  return sections;
}

// They only initialise weights that the checkpoint replaces; a path of the training machine need
// not exist on this one.
constexpr const char* kPretrainedKey = "model.image_encoder.pretrained";
constexpr const char* kInitWeightsKey = "model.init_weights";

const ConfigNode* find_path(const ConfigNode& root, const std::string& key) {
  const ConfigNode* node = &root;
  for (const auto& part : detail::split_key(key)) {
    node = node->kind == Kind::Map ? node->find(part) : nullptr;
    if (node == nullptr) return nullptr;
  }
  return node;
}

bool is_number(Kind kind) { return kind == Kind::Int || kind == Kind::Float; }

bool same_number(const std::string& a, const std::string& b) {
  try {
    return std::stod(a) == std::stod(b);
  } catch (const std::exception&) {  // YAML's .inf and .nan, out-of-range spellings
    return a == b;
  }
}

// Equal values, whatever their spelling (16 and 16.0, 0.5 and 5e-1).
bool same_value(const ConfigNode& a, const ConfigNode& b) {
  if (is_number(a.kind) && is_number(b.kind)) return same_number(a.text, b.text);
  if (a.kind != b.kind) return false;
  if (a.kind == Kind::List) {
    if (a.items.size() != b.items.size()) return false;
    for (std::size_t i = 0; i < a.items.size(); ++i) {
      if (!same_value(a.items[i], b.items[i])) return false;
    }
    return true;
  }
  if (a.kind == Kind::Map) {
    if (a.fields.size() != b.fields.size()) return false;
    for (const auto& [name, value] : a.fields) {
      const ConfigNode* other = b.find(name);
      if (other == nullptr || !same_value(value, *other)) return false;
    }
    return true;
  }
  if (a.kind == Kind::Bool) {  // true, True, TRUE
    return std::tolower(static_cast<unsigned char>(a.text[0])) ==
           std::tolower(static_cast<unsigned char>(b.text[0]));
  }
  return a.kind == Kind::Null || a.text == b.text;
}

// A value on one line, for messages: 16, [1, 1], "conv".
std::string one_line(const ConfigNode& node) {
  std::string text = detail::emit_yaml(node);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  for (auto& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

// A network key on which two configs disagree.
struct Difference {
  std::string key;
  ConfigNode given;   // the value of the config given to the evaluation
  ConfigNode stored;  // the value of the checkpoint's stored config
};

// The leaves of `stored` (below `key`) whose value in `given` differs. Keys only one side has
// come from another librsd version: those of the stored config are listed in `unknown`.
void collect_differences(const ConfigNode& given, const ConfigNode& stored, const std::string& key,
                         std::vector<Difference>& out, std::vector<std::string>& unknown) {
  if (key == kPretrainedKey || key == kInitWeightsKey) return;
  if (given.kind == Kind::Map && stored.kind == Kind::Map) {
    for (const auto& [name, value] : stored.fields) {
      if (const ConfigNode* ours = given.find(name)) {
        collect_differences(*ours, value, key + "." + name, out, unknown);
      } else {
        unknown.push_back(key + "." + name);
      }
    }
  } else if (!same_value(given, stored)) {
    out.push_back({key, given, stored});
  }
}

// The config the evaluation runs with, and where its network keys still differ from the
// checkpoint's stored config (for the message when the checkpoint does not fit).
struct EvaluationConfig {
  Config config;
  std::vector<Difference> differences;
  std::string model_source;  // for the report and the log
};

bool set_on_command_line(const Config& config, const std::string& key) {
  return config.origin(key).rfind("--set ", 0) == 0;
}

EvaluationConfig evaluation_config(const Config& given, const std::string& checkpoint, ModelSource model_from) {
  const std::string stored_yaml = train::CheckpointManager::stored_config(checkpoint);
  if (stored_yaml.empty()) {
    if (model_from == ModelSource::checkpoint) {
      logging::warn(checkpoint +
                    " stores no config (saved without one): the model is built from the config "
                    "given, whose model.* and data.image/grid/waypoints must be the run's");
    }
    return {given, {}, "the config given (the checkpoint stores none)"};
  }
  const std::string stored_origin = checkpoint + " (its stored config)";
  ConfigNode stored;
  try {
    stored = detail::parse_yaml(stored_yaml, stored_origin);
  } catch (const ConfigError& error) {
    throw CheckpointError(error.what());
  }
  const ConfigNode given_tree = detail::parse_yaml(given.to_yaml(), "<config>");
  std::vector<Difference> differences;
  std::vector<std::string> unknown;
  for (const auto& section : network_sections()) {
    const ConfigNode* ours = find_path(given_tree, section);
    const ConfigNode* theirs = find_path(stored, section);
    if (ours != nullptr && theirs != nullptr) {
      collect_differences(*ours, *theirs, section, differences, unknown);
    }
  }
  if (!unknown.empty()) {
    logging::warn(stored_origin + " sets " + unknown.front() +
                  (unknown.size() > 1 ? " (and " + std::to_string(unknown.size() - 1) + " more)" : "") +
                  ", which this build does not know: ignored (a checkpoint of another librsd version?)");
  }
  if (model_from == ModelSource::config) {
    if (!differences.empty()) {
      logging::warn("--model-from config: the model's config differs from " + stored_origin +
                    " at " + std::to_string(differences.size()) + " key(s), first " +
                    differences.front().key + " (" + one_line(differences.front().given) +
                    " given, " + one_line(differences.front().stored) + " in the checkpoint)");
    }
    return {given, differences, "the config given (--model-from config)"};
  }

  EvaluationConfig result{given.clone(), {}, "the checkpoint's stored config"};
  for (const auto& difference : differences) {
    if (set_on_command_line(given, difference.key)) {
      logging::info(difference.key + ": " + one_line(difference.given) + " (" +
                    given.origin(difference.key) + ") instead of the checkpoint's " +
                    one_line(difference.stored));
      result.differences.push_back(difference);
      continue;
    }
    // Indented under "value:" by Config::set, so any YAML value reads back as itself.
    std::string value = "\n";
    std::istringstream lines(detail::emit_yaml(difference.stored));
    for (std::string line; std::getline(lines, line);) value += "  " + line + "\n";
    result.config.set(difference.key, value, stored_origin);
  }
  const std::size_t replaced = differences.size() - result.differences.size();
  if (replaced > 0) {
    const Difference& first = *std::find_if(
        differences.begin(), differences.end(),
        [&](const Difference& d) { return !set_on_command_line(given, d.key); });
    logging::info("the model and its inputs come from the stored config of " + checkpoint +
                  ": " + std::to_string(replaced) + " key(s) differ from the config given, " +
                  "first " + first.key + " (" + one_line(first.given) + " given, " +
                  one_line(first.stored) + " in the checkpoint)");
  }
  return result;
}

// The checkpoint's own error, with what explains it when the model's config is not the stored one.
[[noreturn]] void throw_not_fitting(const CheckpointError& error,
                                    const std::vector<Difference>& differences,
                                    const Config& config, ModelSource model_from) {
  std::string message = error.what();
  if (!differences.empty()) {
    const Difference& first = differences.front();
    message += "; the model was built from a config that differs from the checkpoint's stored "
               "config at " + first.key + ": " + one_line(first.given) + " (" +
               config.origin(first.key) + ") vs " + one_line(first.stored) + " in the checkpoint";
    if (differences.size() > 1) {
      message += " (and " + std::to_string(differences.size() - 1) + " more:";
      for (std::size_t i = 1; i < differences.size(); ++i) message += " " + differences[i].key;
      message += ")";
    }
    message += model_from == ModelSource::config
                   ? "; without --model-from config the model comes from the checkpoint"
                   : "; drop the --set override to use the checkpoint's value";
  }
  throw CheckpointError(message);
}

}  // namespace

CheckpointModel load_checkpoint_model(const Config& given, const std::string& checkpoint,
                                      ModelSource model_from, const torch::Device& device) {
  EvaluationConfig evaluation = evaluation_config(given, checkpoint, model_from);
  set_current_device(device);  // cuda:N: N's context only, also for the loader's pinning
  model::E2EModelOptions model_options = e2e_model_options_from(evaluation.config);
  model_options.image_encoder.pretrained("");  // every weight comes from the checkpoint
  CheckpointModel out{std::move(evaluation.config), model::E2EModel(model_options), {},
                      evaluation.model_source};
  try {
    out.progress = train::CheckpointManager::load(checkpoint, *out.model, nullptr);
  } catch (const CheckpointError& error) {
    throw_not_fitting(error, evaluation.differences, out.config, model_from);
  }
  out.model->to(device);
  return out;
}

}  // namespace rsd::pipeline
