// rsd_compare_checkpoints A.pt B.pt: exit 0 when the two checkpoints hold the same step and
// bitwise-equal model tensors (every parameter and buffer, by name), 1 naming the first
// difference, 2 on usage or an unreadable file. scripts/crash_trials.sh compares a run that was
// killed and resumed with an uninterrupted one this way; the files themselves differ in bytes
// (the stored config names its run directory, libtorch 1.13 keys optimiser state by address).
#include <torch/serialize/input-archive.h>

#include <iostream>
#include <map>
#include <string>

namespace {

struct StoredModel {
  int64_t step = -1;
  std::map<std::string, at::Tensor> tensors;  // "param:<name>" / "buffer:<name>"
};

StoredModel read_model(const std::string& path) {
  torch::serialize::InputArchive archive;
  archive.load_from(path, torch::Device(torch::kCPU));
  c10::IValue step, names, tensors;
  archive.read("step", step);
  archive.read("model_names", names);
  archive.read("model_tensors", tensors);
  StoredModel model;
  model.step = step.toInt();
  const auto name_list = names.toList();
  const auto tensor_list = tensors.toTensorList();
  for (std::size_t i = 0; i < name_list.size(); ++i) {
    model.tensors[name_list.get(i).toStringRef()] = tensor_list.get(i);
  }
  return model;
}

// The first difference between `a` and `b`, or empty when they are identical.
std::string first_difference(const StoredModel& a, const StoredModel& b) {
  if (a.step != b.step) {
    return "step " + std::to_string(a.step) + " vs " + std::to_string(b.step);
  }
  for (const auto& [name, tensor] : a.tensors) {
    const auto other = b.tensors.find(name);
    if (other == b.tensors.end()) return name + " only in the first";
    if (tensor.scalar_type() != other->second.scalar_type() ||
        tensor.sizes() != other->second.sizes()) {
      return name + " differs in dtype or shape";
    }
    if (!torch::equal(tensor, other->second)) {
      const double max_diff =
          (tensor.to(torch::kDouble) - other->second.to(torch::kDouble)).abs().max().item<double>();
      return name + " differs (max |a-b| = " + std::to_string(max_diff) + ")";
    }
  }
  for (const auto& item : b.tensors) {
    if (a.tensors.count(item.first) == 0) return item.first + " only in the second";
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: rsd_compare_checkpoints A.pt B.pt\n";
    return 2;
  }
  StoredModel a, b;
  try {
    a = read_model(argv[1]);
    b = read_model(argv[2]);
  } catch (const c10::Error& e) {
    std::cerr << "rsd_compare_checkpoints: " << e.what_without_backtrace() << "\n";
    return 2;
  }
  const std::string difference = first_difference(a, b);
  if (!difference.empty()) {
    std::cout << "different: " << difference << "\n";
    return 1;
  }
  std::cout << "identical: step " << a.step << ", " << a.tensors.size() << " tensors\n";
  return 0;
}
