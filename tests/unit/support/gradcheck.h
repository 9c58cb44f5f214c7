// Finite-difference gradient check for libtorch C++ (1.13 has no torch::autograd::gradcheck):
// compares the full Jacobian that autograd gives with central differences, in double, as
// PyTorch's (slow-mode) gradcheck does. For tiny inputs only: one backward per output element and
// two function calls per input element.
#pragma once

#include <gtest/gtest.h>
#include <torch/types.h>

#include <functional>
#include <vector>

namespace rsd::test {

struct GradcheckOptions {
  double eps = 1e-6;   // central difference step
  double atol = 1e-5;
  double rtol = 1e-3;
};

using TensorFunction = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;

/// Checks d f(inputs) / d input for every input that requires grad (double tensors). Reports
/// the first mismatching entries (input, element, output element, analytic, numeric).
::testing::AssertionResult gradcheck(const TensorFunction& function,
                                     const std::vector<torch::Tensor>& inputs,
                                     const GradcheckOptions& options = {});

}  // namespace rsd::test
