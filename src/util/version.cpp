#include <torch/version.h>

#include "rsd/version.h"

namespace rsd {

std::string version() { return RSD_VERSION_STRING; }

std::string build_summary() {
  std::string cuda;
#if RSD_CUDA_KERNELS_COMPILED && RSD_TORCH_HAS_CUDA
  cuda = "CUDA kernels compiled and linked";
#elif RSD_CUDA_KERNELS_COMPILED
  cuda = "CUDA kernels compiled, not linked (libtorch has no CUDA)";
#else
  cuda = "CUDA kernels not compiled (no nvcc)";
#endif
  return "librsd " + version() + " (libtorch " + TORCH_VERSION + ", " + cuda + ")";
}

}  // namespace rsd
