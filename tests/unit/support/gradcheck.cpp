#include "support/gradcheck.h"

#include <torch/torch.h>

#include <cmath>
#include <sstream>

namespace rsd::test {

::testing::AssertionResult gradcheck(const TensorFunction& function,
                                     const std::vector<torch::Tensor>& inputs,
                                     const GradcheckOptions& options) {
  std::vector<torch::Tensor> differentiable;
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    if (inputs[i].scalar_type() != torch::kDouble) {
      return ::testing::AssertionFailure() << "gradcheck needs double inputs; input " << i
                                           << " is " << inputs[i].scalar_type();
    }
    differentiable.push_back(inputs[i]);
    positions.push_back(i);
  }
  if (differentiable.empty()) return ::testing::AssertionFailure() << "no input requires grad";

  // Analytic Jacobian, one row (output element) at a time.
  const torch::Tensor output = function(inputs).reshape({-1});
  const int64_t outputs = output.numel();
  std::vector<torch::Tensor> analytic;
  for (const auto& input : differentiable) {
    analytic.push_back(torch::zeros({outputs, input.numel()}, torch::kDouble));
  }
  for (int64_t k = 0; k < outputs; ++k) {
    const auto grads = torch::autograd::grad({output[k]}, differentiable, {}, /*retain_graph=*/true,
                                             /*create_graph=*/false, /*allow_unused=*/true);
    for (std::size_t i = 0; i < grads.size(); ++i) {
      if (grads[i].defined()) analytic[i][k].copy_(grads[i].reshape({-1}));
    }
  }

  // Numeric Jacobian by central differences, one input element at a time.
  torch::NoGradGuard no_grad;
  std::ostringstream failures;
  int reported = 0;
  for (std::size_t i = 0; i < differentiable.size(); ++i) {
    std::vector<torch::Tensor> perturbed(inputs.begin(), inputs.end());
    torch::Tensor values = differentiable[i].detach().clone().contiguous();
    perturbed[positions[i]] = values;
    auto flat = values.view({-1});
    for (int64_t j = 0; j < values.numel(); ++j) {
      const double original = flat[j].item<double>();
      flat[j].fill_(original + options.eps);
      const torch::Tensor plus = function(perturbed).reshape({-1}).clone();
      flat[j].fill_(original - options.eps);
      const torch::Tensor minus = function(perturbed).reshape({-1}).clone();
      flat[j].fill_(original);
      const torch::Tensor numeric = (plus - minus) / (2.0 * options.eps);
      const torch::Tensor column = analytic[i].select(1, j);
      const torch::Tensor bad =
          ((column - numeric).abs() > options.atol + options.rtol * numeric.abs()).nonzero();
      for (int64_t b = 0; b < bad.size(0) && reported < 5; ++b, ++reported) {
        const int64_t k = bad[b][0].item<int64_t>();
        failures << "\n  input " << positions[i] << " element " << j << ", output " << k
                 << ": analytic " << column[k].item<double>() << " vs numeric "
                 << numeric[k].item<double>();
      }
    }
  }
  if (reported > 0) return ::testing::AssertionFailure() << "gradients differ:" << failures.str();
  return ::testing::AssertionSuccess();
}

}  // namespace rsd::test
