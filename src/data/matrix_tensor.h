// Eigen matrices written into float32 tensors (row-major), for samples.
#pragma once

#include <Eigen/Core>

namespace rsd::data::detail {

inline void write_matrix(const Eigen::Matrix4d& m, float* out) {
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) out[r * 4 + c] = static_cast<float>(m(r, c));
  }
}

inline void write_matrix(const Eigen::Matrix3d& m, float* out) {
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) out[r * 3 + c] = static_cast<float>(m(r, c));
  }
}

}  // namespace rsd::data::detail
