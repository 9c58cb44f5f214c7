# Every find_package of the project, in one place. All come from Debian packages installed by
# scripts/setup.sh; the messages below say which package provides what is missing.
include_guard(GLOBAL)

macro(rsd_require package debian_package)
  find_package(${package} ${ARGN} QUIET)
  if(NOT ${package}_FOUND)
    message(FATAL_ERROR "librsd needs ${package}: install the Debian package '${debian_package}' "
                        "(scripts/setup.sh installs everything the build needs)")
  endif()
endmacro()

# Debian's TorchConfig defines the imported target `torch` (no namespace) with the C++11 ABI flag.
# PyPI's torch 2.x (scripts/setup.sh --torch pypi, CMAKE_PREFIX_PATH at its share/cmake) defines
# the same target; its config also enables CUDA, finds the toolkit and appends its own -gencode
# list to CMAKE_CUDA_FLAGS. The project's kernels are torch-free and compiled for
# RSD_CUDA_ARCHITECTURES: give it that list (TORCH_CUDA_ARCH_LIST, so no GPU detection runs) and
# keep its CUDA flags and architectures out of ours.
if(RSD_WITH_CUDA AND NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES ${RSD_CUDA_ARCHITECTURES})
endif()
set(rsd_saved_cuda_architectures "${CMAKE_CUDA_ARCHITECTURES}")
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(TORCH_CUDA_ARCH_LIST "")
  foreach(arch IN LISTS RSD_CUDA_ARCHITECTURES)
    string(REGEX REPLACE "-.*" "" arch "${arch}")            # 80-real -> 80
    string(REGEX REPLACE "([0-9]+)([0-9])$" "\\1.\\2" arch "${arch}")  # 80 -> 8.0
    list(APPEND TORCH_CUDA_ARCH_LIST "${arch}")
  endforeach()
endif()
rsd_require(Torch libtorch-dev)
include(RsdTorchWheel)
rsd_torch_wheel_links()
# Installed libraries find a libtorch outside the system directories (PyPI's) by their RUNPATH:
# librsd_core needs libc10_cuda, which a program linking it does not name itself.
if(NOT TORCH_INSTALL_PREFIX STREQUAL "/usr")
  list(APPEND CMAKE_INSTALL_RPATH "${TORCH_INSTALL_PREFIX}/lib")
endif()
unset(CMAKE_CUDA_FLAGS)  # the cache value (user's flags) again
unset(CUDA_NVCC_FLAGS)
if(rsd_saved_cuda_architectures)
  set(CMAKE_CUDA_ARCHITECTURES ${rsd_saved_cuda_architectures})
endif()
# One libtorch: Torch_VERSION says which (1.13 from Debian, 2.x from PyPI).
message(STATUS "libtorch ${Torch_VERSION} from ${Torch_DIR}")
rsd_require(Eigen3 libeigen3-dev NO_MODULE)
rsd_require(nlohmann_json nlohmann-json3-dev)  # header-only: the risk cache's JSON
rsd_require(ZLIB zlib1g-dev)
rsd_require(Threads libc6-dev)
rsd_require(OpenMP libgomp1 COMPONENTS CXX)    # at::parallel_for in the CPU voxel-pool kernels
if(RSD_CORE_ONLY)
  return()  # rsd::core needs nothing more
endif()
rsd_require(yaml-cpp libyaml-cpp-dev)
rsd_require(spdlog libspdlog-dev)
# PyPI's torch ships its own fmt (12) in its include directory, which the compiler searches before
# /usr/include; Debian's spdlog is built against Debian's fmt (9), and librsd uses both.
# RSD_SYSTEM_FMT_INCLUDE_DIR (empty with Debian's libtorch) holds only Debian's fmt, for an -I
# (searched before libtorch's -isystem directories).
set(RSD_SYSTEM_FMT_INCLUDE_DIR "")
if(EXISTS "${TORCH_INSTALL_PREFIX}/include/fmt" AND TARGET fmt::fmt)
  get_target_property(rsd_fmt_include fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
  if(NOT rsd_fmt_include STREQUAL "${TORCH_INSTALL_PREFIX}/include")
    set(RSD_SYSTEM_FMT_INCLUDE_DIR "${PROJECT_BINARY_DIR}/system_fmt")
    file(MAKE_DIRECTORY "${RSD_SYSTEM_FMT_INCLUDE_DIR}")
    file(CREATE_LINK "${rsd_fmt_include}/fmt" "${RSD_SYSTEM_FMT_INCLUDE_DIR}/fmt" SYMBOLIC)
  endif()
endif()
rsd_require(OpenCV libopencv-dev COMPONENTS core imgproc imgcodecs)
rsd_require(CURL libcurl4-openssl-dev)  # the VLM teacher's HTTP client
rsd_require(Protobuf libprotobuf-dev)   # TensorBoard event files (src/util/tensorboard)
if(NOT Protobuf_PROTOC_EXECUTABLE)
  message(FATAL_ERROR "librsd needs protoc: install the Debian package 'protobuf-compiler' "
                      "(scripts/setup.sh installs everything the build needs)")
endif()
if(RSD_BUILD_APPS)
  rsd_require(CLI11 libcli11-dev)
endif()
if(RSD_BUILD_TESTS)
  rsd_require(GTest libgtest-dev)
endif()
if(RSD_BUILD_BENCH AND RSD_BUILD_APPS)
  rsd_require(benchmark libbenchmark-dev)
endif()
