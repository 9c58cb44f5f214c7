// Reading name -> tensor weight files and copying them into modules by parameter name, for
// pretrained backbones (docs/model.md says how to convert torchvision's ResNets).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <map>
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

}  // namespace rsd::model
