#include "rsd/model/weights.h"

#include <torch/serialize.h>
#include <torch/serialize/input-archive.h>

#include <sstream>

#include "rsd/util/archive_integrity.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"

namespace rsd::model {
namespace {

void collect_archive(torch::serialize::InputArchive& archive, const std::string& prefix,
                     NamedTensors& out) {
  for (const std::string& key : archive.keys()) {
    c10::IValue value;
    if (!archive.try_read(key, value)) continue;
    if (value.isTensor()) {
      out[prefix + key] = value.toTensor();
    } else if (value.isObject()) {
      torch::serialize::InputArchive child;
      if (archive.try_read(key, child)) collect_archive(child, prefix + key + ".", out);
    }
  }
}

NamedTensors from_pickled_dict(const c10::IValue& value, const std::string& path) {
  if (!value.isGenericDict()) {
    throw CheckpointError("weights file " + path + " holds a " + value.tagKind() +
                          ", not a dict of name -> tensor");
  }
  NamedTensors out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) {
      throw CheckpointError("weights file " + path +
                            ": every entry must map a string to a tensor (found a " +
                            entry.key().tagKind() + " -> " + entry.value().tagKind() + ")");
    }
    out[entry.key().toStringRef()] = entry.value().toTensor();
  }
  return out;
}

std::string shape_of(const torch::Tensor& tensor) {
  std::ostringstream text;
  text << tensor.sizes();
  return text.str();
}

}  // namespace

NamedTensors read_named_tensors(const std::string& path) {
  const std::string bytes = read_file(path);
  // libtorch checks no CRC: a damaged zip would reach its unpickler (legacy pickles are not zips).
  if (looks_like_zip(bytes)) verify_zip_archive(bytes, "weights file " + path);
  std::string pickle_error;
  try {
    const std::vector<char> data(bytes.begin(), bytes.end());
    return from_pickled_dict(torch::pickle_load(data), path);
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& error) {
    pickle_error = error.what();
  }
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(bytes.data(), bytes.size());
    NamedTensors out;
    collect_archive(archive, "", out);
    if (!out.empty()) return out;
  } catch (const std::exception&) {
    // Report the first format's failure below: a dict is what users convert to.
  }
  const auto first_line = pickle_error.substr(0, pickle_error.find('\n'));
  throw CheckpointError("weights file " + path +
                        " is neither a torch.save'd dict of name -> tensor nor a torch::save "
                        "archive (" + first_line + ")");
}

NamedTensors named_tensors_of(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out[item.key()] = item.value();
  for (const auto& item : module.named_buffers(/*recurse=*/true)) out[item.key()] = item.value();
  return out;
}

WeightsLoadReport load_named_tensors(torch::nn::Module& module, const NamedTensors& tensors,
                                     const std::string& source) {
  WeightsLoadReport report;
  NamedTensors own = named_tensors_of(module);
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : own) {
    const auto found = tensors.find(name);
    if (found == tensors.end()) {
      report.missing.push_back(name);
      continue;
    }
    if (found->second.sizes() != target.sizes()) {
      throw CheckpointError("weights " + source + ": '" + name + "' has shape " +
                            shape_of(found->second) + ", the model expects " + shape_of(target));
    }
    target.copy_(found->second);
    report.loaded.push_back(name);
  }
  for (const auto& entry : tensors) {
    if (own.count(entry.first) == 0) report.unexpected.push_back(entry.first);
  }
  return report;
}

}  // namespace rsd::model
