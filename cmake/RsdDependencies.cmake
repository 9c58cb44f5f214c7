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
rsd_require(Torch libtorch-dev)
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
rsd_require(OpenCV libopencv-dev COMPONENTS core imgproc imgcodecs)
rsd_require(CURL libcurl4-openssl-dev)  # the VLM teacher's HTTP client
if(RSD_BUILD_APPS)
  rsd_require(CLI11 libcli11-dev)
endif()
if(RSD_BUILD_TESTS)
  rsd_require(GTest libgtest-dev)
endif()
if(RSD_BUILD_BENCH AND RSD_BUILD_APPS)
  rsd_require(benchmark libbenchmark-dev)
endif()
