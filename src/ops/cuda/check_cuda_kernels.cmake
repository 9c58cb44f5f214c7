# ctest ops.cuda_kernels_compiled: proves that nvcc compiled the voxel-pooling kernels, without a
# GPU and without cuobjdump. Run as
#   cmake -DOBJECTS=<objects, comma-separated> -DNM=<nm> -DOBJDUMP=<objdump>
#         -DARCHITECTURES=<75,80,...> -P check_cuda_kernels.cmake
# It fails when an object is missing, when a kernel's host launch stub is missing (nvcc emits one
# per instantiated __global__ function), or when the embedded device code (.nv_fatbin) is empty or
# lacks one of the configured architectures.
foreach(var OBJECTS NM OBJDUMP ARCHITECTURES)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_cuda_kernels: ${var} is not set")
  endif()
  string(REPLACE "," ";" ${var} "${${var}}")
endforeach()

# <stored type, accumulator type, channels per thread>: 16-bit types accumulate in float.
set(expected_kernels "")
foreach(types IN ITEMS "float, float" "double, double" "__half, float" "__nv_bfloat16, float")
  foreach(direction IN ITEMS forward backward)
    foreach(vec IN ITEMS 4 1)
      list(APPEND expected_kernels "voxel_pool_${direction}_kernel<${types}, ${vec}>")
    endforeach()
  endforeach()
endforeach()

set(symbols "")
set(fatbin_bytes 0)
set(device_code "")
foreach(object IN LISTS OBJECTS)
  if(NOT EXISTS "${object}")
    message(FATAL_ERROR "check_cuda_kernels: ${object} does not exist (was rsd_cuda_kernels built?)")
  endif()
  execute_process(COMMAND "${NM}" -C "${object}" OUTPUT_VARIABLE listing RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "check_cuda_kernels: ${NM} failed on ${object}")
  endif()
  string(APPEND symbols "${listing}")
  execute_process(COMMAND "${OBJDUMP}" -h "${object}" OUTPUT_VARIABLE sections)
  string(REGEX MATCH "\\.nv_fatbin +([0-9a-f]+)" found "${sections}")
  if(found)
    math(EXPR fatbin_bytes "${fatbin_bytes} + 0x${CMAKE_MATCH_1}")
  endif()
  file(STRINGS "${object}" names REGEX "sm_[0-9]+")
  string(APPEND device_code "${names}")
endforeach()

set(missing "")
foreach(kernel IN LISTS expected_kernels)
  string(FIND "${symbols}" "${kernel}" at)
  if(at EQUAL -1)
    list(APPEND missing "${kernel}")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "check_cuda_kernels: no launch stub for: ${missing}")
endif()
if(fatbin_bytes EQUAL 0)
  message(FATAL_ERROR "check_cuda_kernels: no device code (.nv_fatbin section) in ${OBJECTS}")
endif()
foreach(arch IN LISTS ARCHITECTURES)
  string(REGEX REPLACE "-.*" "" arch "${arch}")  # 80-real -> 80
  string(FIND "${device_code}" "sm_${arch}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "check_cuda_kernels: no device code for sm_${arch} in ${OBJECTS}")
  endif()
endforeach()
list(LENGTH expected_kernels count)
list(JOIN ARCHITECTURES ", sm_" archs)
message(STATUS "CUDA kernels compiled: ${count} kernels, ${fatbin_bytes} bytes of device code for "
               "sm_${archs}")
