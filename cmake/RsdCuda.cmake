# CUDA: compiling the kernels and running them are separate facts.
#   RSD_WITH_CUDA       the project's .cu files are compiled (needs nvcc; see RsdOptions.cmake).
#   RSD_TORCH_HAS_CUDA  libtorch was built with CUDA: the kernels are linked into librsd and
#                       dispatched for CUDA tensors. Debian's libtorch is CPU-only.
# The .cu units never include libtorch (Debian's libtorch has no c10_cuda to link against); they
# take raw pointers and a stream, and the per-cell bodies they share with the CPU kernels live in
# headers under src/ops/.
include_guard(GLOBAL)

set(RSD_TORCH_HAS_CUDA OFF)
if(RSD_WITH_CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    message(FATAL_ERROR "RSD_WITH_CUDA=ON but nvcc was not found: set CMAKE_CUDA_COMPILER "
                        "or configure with -DRSD_WITH_CUDA=OFF")
  endif()
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES ${RSD_CUDA_ARCHITECTURES})
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  if(TORCH_CUDA_LIBRARIES)
    set(RSD_TORCH_HAS_CUDA ON)
  endif()
else()
  message(STATUS "RSD_WITH_CUDA=OFF: the CUDA kernels are not compiled")
endif()
