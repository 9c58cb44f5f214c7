#include "support/meta_device.h"

#include <ATen/ExpandUtils.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/record_function.h>
#include <torch/library.h>
#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <sstream>
#include <utility>

namespace rsd::test {
namespace {

using Args = std::vector<c10::IValue>;
using Results = std::vector<c10::IValue>;

// An int[] or SymInt[] argument with concrete values.
std::vector<int64_t> ints(const c10::IValue& value) {
  if (value.isIntList()) return value.toIntVector();
  std::vector<int64_t> out;
  for (const c10::IValue& element : value.toListRef()) {
    out.push_back(element.isInt() ? element.toInt() : element.toSymInt().expect_int());
  }
  return out;
}

// Output sizes of a convolution (the formula of ATen's conv_output_size / conv_input_size).
std::vector<int64_t> convolution_sizes(const at::Tensor& input, const at::Tensor& weight,
                                       const std::vector<int64_t>& stride,
                                       const std::vector<int64_t>& padding,
                                       const std::vector<int64_t>& dilation, bool transposed,
                                       const std::vector<int64_t>& output_padding, int64_t groups) {
  std::vector<int64_t> sizes{input.size(0), transposed ? weight.size(1) * groups : weight.size(0)};
  for (int64_t d = 2; d < input.dim(); ++d) {
    const auto i = static_cast<std::size_t>(d - 2);
    const int64_t kernel = dilation[i] * (weight.size(d) - 1) + 1;
    sizes.push_back(transposed ? (input.size(d) - 1) * stride[i] - 2 * padding[i] + kernel +
                                     output_padding[i]
                               : (input.size(d) + 2 * padding[i] - kernel) / stride[i] + 1);
  }
  return sizes;
}

// convolution_overrideable(input, weight, bias?, stride, padding, dilation, transposed,
// output_padding, groups)
Results convolution(const Args& a) {
  const at::Tensor input = a[0].toTensor(), weight = a[1].toTensor();
  return {at::empty(convolution_sizes(input, weight, ints(a[3]), ints(a[4]), ints(a[5]),
                                      a[6].toBool(), ints(a[7]),
                                      a[8].toInt()),
                    input.options())};
}

// convolution_backward_overrideable(grad_output, input, weight, stride, padding, dilation,
// transposed, output_padding, groups, output_mask) -> (grad_input, grad_weight, grad_bias)
Results convolution_backward(const Args& a) {
  const at::Tensor grad = a[0].toTensor(), input = a[1].toTensor(), weight = a[2].toTensor();
  const auto mask = a[9].toBoolList();
  return {mask.get(0) ? at::empty_like(input) : at::Tensor(),
          mask.get(1) ? at::empty_like(weight) : at::Tensor(),
          mask.get(2) ? at::empty({grad.size(1)}, grad.options()) : at::Tensor()};
}

// native_batch_norm(input, weight?, bias?, running_mean?, running_var?, training, momentum, eps)
// -> (output, save_mean, save_invstd)
Results batch_norm(const Args& a) {
  const at::Tensor input = a[0].toTensor();
  const auto per_channel = input.options().dtype(at::kFloat);
  return {at::empty_like(input), at::empty({input.size(1)}, per_channel),
          at::empty({input.size(1)}, per_channel)};
}

// native_batch_norm_backward(grad_out, input, weight?, running_mean?, running_var?, save_mean?,
// save_invstd?, train, eps, output_mask) -> (grad_input, grad_weight, grad_bias)
Results batch_norm_backward(const Args& a) {
  const at::Tensor input = a[1].toTensor();
  const auto mask = a[9].toBoolList();
  const auto per_channel = at::empty({input.size(1)}, input.options());
  return {mask.get(0) ? at::empty_like(input) : at::Tensor(),
          mask.get(1) ? at::empty_like(per_channel) : at::Tensor(),
          mask.get(2) ? at::empty_like(per_channel) : at::Tensor()};
}

// index_select(self, dim, index)
Results index_select(const Args& a) {
  const at::Tensor self = a[0].toTensor(), index = a[2].toTensor();
  std::vector<int64_t> sizes = self.sizes().vec();
  if (!sizes.empty()) {
    sizes[static_cast<std::size_t>(at::maybe_wrap_dim(a[1].toInt(), self.dim()))] = index.numel();
  }
  return {at::empty(sizes, self.options())};
}

// embedding_dense_backward(grad_output, indices, num_weights, padding_idx, scale_grad_by_freq)
Results embedding_backward(const Args& a) {
  const at::Tensor grad = a[0].toTensor();
  const c10::IValue& count = a[2];
  return {at::empty({count.isInt() ? count.toInt() : count.toSymInt().expect_int(), grad.size(-1)},
                    grad.options())};
}

// where.self(condition, self, other)
Results where(const Args& a) {
  const at::Tensor condition = a[0].toTensor(), self = a[1].toTensor(), other = a[2].toTensor();
  const auto sizes = at::infer_size(at::infer_size(condition.sizes(), self.sizes()), other.sizes());
  return {at::empty(sizes, self.options().dtype(at::result_type(self, other)))};
}

// Same shape as the first argument: relu, flip, log_sigmoid_backward (grad_output first),
// native_dropout_backward.
Results like_first(const Args& a) { return {at::empty_like(a[0].toTensor())}; }

// equal(self, other): unknown without values. libtorch's C++ multi-head attention asks it to
// choose a shortcut for self-attention; false takes the general path, valid for any inputs.
Results unknown_equal(const Args&) { return {c10::IValue(false)}; }

// op.out(self, *, out): `out` resized to self's shape (abs, whose functional form calls it).
Results unary_out(const Args& a) {
  at::Tensor out = a.back().toTensor();
  out.resize_(a[0].toTensor().sizes());
  return {out};
}

// In place on the first argument: relu_.
Results first_in_place(const Args& a) { return {a[0]}; }

// log_sigmoid_forward(self) -> (output, buffer)
Results log_sigmoid(const Args& a) {
  const at::Tensor self = a[0].toTensor();
  return {at::empty_like(self), at::empty_like(self)};
}

// native_dropout(input, p, train?) -> (output, mask)
Results dropout(const Args& a) {
  const at::Tensor input = a[0].toTensor();
  return {at::empty_like(input), at::empty_like(input, input.options().dtype(at::kBool))};
}

// native_layer_norm(input, normalized_shape, weight?, bias?, eps) -> (output, mean, rstd)
Results layer_norm(const Args& a) {
  const at::Tensor input = a[0].toTensor();
  const auto normalized = ints(a[1]);
  std::vector<int64_t> stats = input.sizes().vec();
  for (std::size_t i = stats.size() - normalized.size(); i < stats.size(); ++i) stats[i] = 1;
  const auto options = input.options().dtype(at::kFloat);
  return {at::empty_like(input), at::empty(stats, options), at::empty(stats, options)};
}

// native_layer_norm_backward(grad_out, input, normalized_shape, mean, rstd, weight?, bias?,
// output_mask) -> (grad_input, grad_weight, grad_bias)
Results layer_norm_backward(const Args& a) {
  const at::Tensor input = a[1].toTensor();
  const auto mask = a[7].toBoolList();
  const at::Tensor affine = at::empty(ints(a[2]), input.options());
  return {mask.get(0) ? at::empty_like(input) : at::Tensor(),
          mask.get(1) ? at::empty_like(affine) : at::Tensor(),
          mask.get(2) ? at::empty_like(affine) : at::Tensor()};
}

template <Results (*kernel)(const Args&)>
void boxed(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const Args args = torch::jit::pop(*stack, op.schema().arguments().size());
  for (c10::IValue& result : kernel(args)) stack->push_back(std::move(result));
}

}  // namespace

const std::vector<std::string>& install_missing_meta_kernels() {
  static const std::vector<std::string> installed = [] {
    struct Entry {
      const char* name;
      const char* overload;
      torch::CppFunction (*make)();
    };
    const Entry entries[] = {
        {"aten::convolution_overrideable", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<convolution>>(); }},
        {"aten::convolution_backward_overrideable", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<convolution_backward>>(); }},
        {"aten::native_batch_norm", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<batch_norm>>(); }},
        {"aten::native_batch_norm_backward", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<batch_norm_backward>>(); }},
        {"aten::index_select", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<index_select>>(); }},
        {"aten::embedding_dense_backward", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<embedding_backward>>(); }},
        {"aten::where", "self",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<where>>(); }},
        {"aten::equal", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<unknown_equal>>(); }},
        {"aten::abs", "out",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<unary_out>>(); }},
        {"aten::flip", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<like_first>>(); }},
        {"aten::relu", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<like_first>>(); }},
        {"aten::relu_", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<first_in_place>>(); }},
        {"aten::log_sigmoid_forward", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<log_sigmoid>>(); }},
        {"aten::log_sigmoid_backward", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<like_first>>(); }},
        {"aten::native_dropout", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<dropout>>(); }},
        {"aten::native_dropout_backward", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<like_first>>(); }},
        {"aten::native_layer_norm", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<layer_norm>>(); }},
        {"aten::native_layer_norm_backward", "",
         [] { return torch::CppFunction::makeFromBoxedFunction<&boxed<layer_norm_backward>>(); }},
    };
    static auto library = std::make_unique<torch::Library>(
        torch::Library::IMPL, "aten", c10::DispatchKey::Meta, __FILE__, __LINE__);
    std::vector<std::string> names;
    for (const Entry& entry : entries) {
      const auto handle = c10::Dispatcher::singleton().findSchema({entry.name, entry.overload});
      if (!handle || handle->hasKernelForDispatchKey(c10::DispatchKey::Meta)) continue;
      const std::string qualified =
          std::string(entry.name) + (*entry.overload ? std::string(".") + entry.overload : "");
      library->impl(qualified.substr(6).c_str(), entry.make());  // without "aten::"
      names.push_back(qualified);
    }
    return names;
  }();
  return installed;
}

void move_to_meta(torch::nn::Module& module) {
  std::vector<at::Tensor> tensors = module.parameters(/*recurse=*/true);
  for (const auto& buffer : module.buffers(/*recurse=*/true)) tensors.push_back(buffer);
  for (at::Tensor& tensor : tensors) {
    const at::Tensor meta = at::empty(tensor.sizes(), tensor.options().device(at::kMeta));
    // What set_data() does, without its same-backend check: the TensorImpl (and so every handle
    // the module keeps to it) now describes a meta tensor.
    tensor.unsafeGetTensorImpl()->shallow_copy_from(meta.getIntrusivePtr());
  }
}

namespace {

std::mutex& made_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<std::string>& made_on_cpu() {
  static std::vector<std::string> made;
  return made;
}

// Tensors of an op's inputs, single or in lists (cat, stack).
void collect_tensors(const c10::IValue& value, std::vector<at::Tensor>& tensors) {
  if (value.isTensor()) {
    tensors.push_back(value.toTensor());
  } else if (value.isTensorList()) {
    for (const at::Tensor& t : value.toTensorVector()) tensors.push_back(t);
  } else if (value.isList()) {
    for (const c10::IValue& element : value.toListRef()) collect_tensors(element, tensors);
  }
}

std::unique_ptr<at::ObserverContext> note_mixed_inputs(const at::RecordFunction& fn) {
  const std::string name = fn.name();
  // Explicit copies are how host data reaches the input's device (torch::tensor(data, options)).
  if (name == "aten::copy_" || name == "aten::_to_copy" || name == "aten::to") return nullptr;
  std::vector<at::Tensor> tensors;
  for (const c10::IValue& input : fn.inputs()) collect_tensors(input, tensors);
  bool meta = false;
  const at::Tensor* cpu = nullptr;
  for (const at::Tensor& tensor : tensors) {
    if (!tensor.defined()) continue;
    meta = meta || tensor.is_meta();
    if (tensor.is_cpu() && tensor.dim() > 0 && cpu == nullptr) cpu = &tensor;
  }
  if (meta && cpu != nullptr) {
    std::ostringstream text;
    text << name << " got a CPU tensor " << cpu->sizes() << " beside meta ones";
    std::lock_guard<std::mutex> lock(made_mutex());
    made_on_cpu().push_back(text.str());
  }
  return nullptr;
}

}  // namespace

CpuTensorTripwire::CpuTensorTripwire() {
  {
    std::lock_guard<std::mutex> lock(made_mutex());
    made_on_cpu().clear();
  }
  handle_ = at::addThreadLocalCallback(at::RecordFunctionCallback(&note_mixed_inputs)
                                            .needsInputs(true)
                                            .scopes({at::RecordScope::FUNCTION}));
}

CpuTensorTripwire::~CpuTensorTripwire() { at::removeCallback(handle_); }

std::vector<std::string> CpuTensorTripwire::cpu_tensors() const {
  std::lock_guard<std::mutex> lock(made_mutex());
  return made_on_cpu();
}

}  // namespace rsd::test
