# The project's build options. Every option is prefixed RSD_.
include_guard(GLOBAL)

option(BUILD_SHARED_LIBS "Build librsd as a shared library" ON)
option(RSD_CORE_ONLY "Build only rsd::core (libtorch and Eigen: ops, RiskHead, losses, risk cache reader)" OFF)
option(RSD_BUILD_APPS "Build the command-line apps (rsd_train, rsd_eval, ...)" ${PROJECT_IS_TOP_LEVEL})
option(RSD_BUILD_TESTS "Build the unit, CLI and consumer tests" ${PROJECT_IS_TOP_LEVEL})
option(RSD_BUILD_BENCH "Build rsd_bench (Google Benchmark)" ${PROJECT_IS_TOP_LEVEL})
option(RSD_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)
option(RSD_USE_PCH "Precompile libtorch headers" ON)
option(RSD_USE_CCACHE "Use ccache when it is installed" ON)
set(RSD_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined (empty: none)")
option(RSD_FUZZ "Build only the libFuzzer harnesses of tests/fuzz (clang; scripts/fuzz.sh)" OFF)

# RSD_WITH_CUDA compiles the project's .cu files; it defaults to ON when nvcc is found.
# Linking and dispatching the kernels additionally needs a libtorch built with CUDA
# (RSD_TORCH_HAS_CUDA, detected in RsdCuda.cmake).
if(NOT CMAKE_CUDA_COMPILER)
  find_program(RSD_NVCC nvcc HINTS ENV CUDA_HOME /usr/local/cuda PATH_SUFFIXES bin)
  if(RSD_NVCC)
    set(CMAKE_CUDA_COMPILER "${RSD_NVCC}" CACHE FILEPATH "CUDA compiler")
  endif()
endif()
if(CMAKE_CUDA_COMPILER)
  set(rsd_cuda_default ON)
else()
  set(rsd_cuda_default OFF)
endif()
option(RSD_WITH_CUDA "Compile the CUDA kernels (default: ON when nvcc is found)" ${rsd_cuda_default})
set(RSD_CUDA_ARCHITECTURES "75;80;86;90" CACHE STRING
    "CUDA architectures for the kernels (explicit: 'native' has nothing to detect without a GPU)")

if(RSD_CORE_ONLY)
  # The apps, tests and benchmarks need the whole library.
  set(RSD_BUILD_APPS OFF CACHE BOOL "" FORCE)
  set(RSD_BUILD_TESTS OFF CACHE BOOL "" FORCE)
  set(RSD_BUILD_BENCH OFF CACHE BOOL "" FORCE)
endif()

if(RSD_BUILD_BENCH AND NOT RSD_BUILD_APPS)
  message(STATUS "RSD_BUILD_BENCH needs RSD_BUILD_APPS; rsd_bench will not be built")
endif()
