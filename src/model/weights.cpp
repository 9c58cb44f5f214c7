#include "rsd/model/weights.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickler.h>
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

// Names listed in a refusal, each kind cut at a few: enough to see the pattern (a prefix, a renamed
// module, another head) without a page of names.
std::string first_few(const std::vector<std::string>& items) {
  constexpr std::size_t kShown = 5;
  std::string text;
  for (std::size_t i = 0; i < items.size() && i < kShown; ++i) {
    text += (i == 0 ? "" : ", ") + items[i];
  }
  if (items.size() > kShown) text += " (and " + std::to_string(items.size() - kShown) + " more)";
  return text;
}

// torch::pickle_save tags each dict with torch.jit._pickle.restore_type_tag, a global that Python's
// torch.load(weights_only=True) refuses. This is pickle_save's zip (data.pkl and one data/<i>
// record per storage) without the tags, the layout of a dict saved by Python's torch.save. Every
// tensor in `value` must be on the CPU, contiguous and own its whole storage.
std::string pickle_save_untagged(const c10::IValue& value) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler(
      [&](const char* data, size_t size) { pickle.insert(pickle.end(), data, data + size); },
      /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
      /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();
  std::string zip;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    zip.append(static_cast<const char*>(data), size);
    return size;
  });
  const std::vector<at::Tensor>& storages = pickler.tensorData();
  for (std::size_t i = 0; i < storages.size(); ++i) {
    writer.writeRecord("data/" + std::to_string(i), storages[i].data_ptr(), storages[i].nbytes());
  }
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeEndOfFile();
  return zip;
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
  // torch.save(model.state_dict()) pickles a collections.OrderedDict, which libtorch's unpickler
  // cannot rebuild (it keeps OrderedDict only as a tensor's empty backward-hook argument). The
  // pickle is stored uncompressed, so its opcodes are in the file's bytes.
  // A plain dict's pickle also names OrderedDict (the hooks), but not as its first opcode after
  // PROTO 2 (the string literal is split so that \x02 does not swallow the 'c').
  if (bytes.find("\x80\x02" "ccollections\nOrderedDict\n") != std::string::npos) {
    throw CheckpointError("weights file " + path +
                          " holds an OrderedDict (torch.save(model.state_dict()) writes one), which "
                          "libtorch cannot read: save a plain dict instead, "
                          "torch.save(dict(model.state_dict()), path)");
  }
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

void load_named_tensors_strict(torch::nn::Module& module, const NamedTensors& tensors,
                               const std::string& source) {
  NamedTensors own = named_tensors_of(module);
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;
  std::vector<std::string> mismatched;
  for (const auto& [name, target] : own) {
    const auto found = tensors.find(name);
    if (found == tensors.end()) {
      missing.push_back(name);
    } else if (found->second.sizes() != target.sizes()) {
      mismatched.push_back(name + " " + shape_of(found->second) + " in the file, " +
                           shape_of(target) + " in the model");
    }
  }
  for (const auto& entry : tensors) {
    if (own.count(entry.first) == 0) unexpected.push_back(entry.first);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string message = "weights " + source + " do not fit the model (it has " +
                          std::to_string(own.size()) + " tensors, the file " +
                          std::to_string(tensors.size()) + ")";
    if (!missing.empty()) {
      message += "; missing " + std::to_string(missing.size()) + ": " + first_few(missing);
    }
    if (!unexpected.empty()) {
      message += "; unexpected " + std::to_string(unexpected.size()) + ": " + first_few(unexpected);
    }
    if (!mismatched.empty()) {
      message += "; other shape " + std::to_string(mismatched.size()) + ": " + first_few(mismatched);
    }
    throw CheckpointError(message);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : own) target.copy_(tensors.at(name));
}

void write_named_tensors(const std::string& path, const NamedTensors& tensors,
                         std::optional<torch::Dtype> float_dtype) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    at::Tensor value = tensor.detach().to(torch::kCPU).contiguous();
    if (float_dtype && value.is_floating_point()) value = value.to(*float_dtype);
    // The pickle holds whole storages: a view would carry the rest of its storage along.
    if (value.storage_offset() != 0 || value.storage().nbytes() != value.nbytes()) {
      value = value.clone();
    }
    dict.insert(name, value);
  }
  write_file_atomic(path, pickle_save_untagged(c10::IValue(dict)));
}

}  // namespace rsd::model
