// Reading name -> tensor weight files and copying them into modules by parameter name, for
// pretrained backbones (docs/model.md says how to convert torchvision's ResNets).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rsd::model {

/// Parameter/buffer name ("layer1.0.conv1.weight") -> tensor.
using NamedTensors = std::map<std::string, torch::Tensor>;

/// Reads `path`, which holds either
///  - a dict {name: tensor} written by Python's torch.save (zip format, torch >= 1.6) or by
///    torch::pickle_save in C++, or
///  - an archive written by torch::save(module) / torch::serialize::OutputArchive; nested module
///    archives become dotted names.
/// Throws rsd::CheckpointError naming the file when it is neither.
NamedTensors read_named_tensors(const std::string& path);

/// `module`'s parameters and buffers (recursively, dotted names) as NamedTensors (sharing storage).
NamedTensors named_tensors_of(const torch::nn::Module& module);

struct WeightsLoadReport {
  std::vector<std::string> loaded;      // names copied into the module
  std::vector<std::string> missing;     // the module's names absent from the file
  std::vector<std::string> unexpected;  // the file's names the module does not have
};

/// Copies every tensor of `tensors` whose name the module has into that parameter or buffer
/// (converted to its dtype and device; requires_grad unchanged). Throws rsd::CheckpointError,
/// naming `source`, the tensor and both shapes, when a shape differs. Missing and unexpected names
/// are reported, not refused: the caller decides which of them matter.
WeightsLoadReport load_named_tensors(torch::nn::Module& module, const NamedTensors& tensors,
                                     const std::string& source);

/// Copies every parameter and buffer of `module` from `tensors`, which must hold exactly the
/// module's names with the module's shapes (dtype and device are converted). Everything is checked
/// before anything is copied, so a refused file leaves the module untouched. Throws
/// rsd::CheckpointError naming `source` and listing the first missing names, unexpected names and
/// shape mismatches (with both shapes) when the file is not the module's.
void load_named_tensors_strict(torch::nn::Module& module, const NamedTensors& tensors,
                               const std::string& source);

/// Writes `tensors` to `path` as a dict {name: tensor} in torch::pickle_save's zip layout, without
/// its type tags (Python refuses them with weights_only=True): a file that
/// Python's torch.load (also with weights_only=True) returns as a dict of CPU tensors, and that
/// read_named_tensors reads back. Floating-point tensors are converted to `float_dtype` when given;
/// integer tensors (BatchNorm's num_batches_tracked) keep theirs. Written atomically
/// (write_file_atomic). Throws rsd::Error naming the path when it cannot be written.
void write_named_tensors(const std::string& path, const NamedTensors& tensors,
                         std::optional<torch::Dtype> float_dtype = std::nullopt);

}  // namespace rsd::model
