# ctest dist.nccl_linked: proves that librsd's NCCL path is compiled and linked in a build whose
# libtorch has CUDA and NCCL (PyPI's torch), without a GPU. Run as
#   cmake -DLIBRARY=<librsd.so> -DNM=<nm> -DREADELF=<readelf> -P check_nccl_linked.cmake
# It fails when librsd does not call c10d::ProcessGroupNCCL's constructor and Options (the
# Communicator's dist.backend nccl branch, compiled only when RSD_TORCH_HAS_NCCL), or does not
# need the libtorch_cuda that defines them.
foreach(var LIBRARY NM READELF)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_nccl_linked: ${var} is not set")
  endif()
endforeach()
if(NOT EXISTS "${LIBRARY}")
  message(FATAL_ERROR "check_nccl_linked: ${LIBRARY} does not exist (was rsd built?)")
endif()

execute_process(COMMAND "${NM}" -D -C --undefined-only "${LIBRARY}"
                OUTPUT_VARIABLE undefined RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "check_nccl_linked: ${NM} failed on ${LIBRARY}")
endif()
set(missing "")
foreach(symbol IN ITEMS "c10d::ProcessGroupNCCL::ProcessGroupNCCL("
                        "c10d::ProcessGroupNCCL::Options::Options(")
  string(FIND "${undefined}" "${symbol}" at)
  if(at EQUAL -1)
    list(APPEND missing "${symbol}")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "check_nccl_linked: ${LIBRARY} does not call ${missing}: the NCCL path "
                      "was not compiled (RSD_TORCH_HAS_NCCL is 0 for this libtorch?)")
endif()

execute_process(COMMAND "${READELF}" -d "${LIBRARY}" OUTPUT_VARIABLE dynamic RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "check_nccl_linked: ${READELF} failed on ${LIBRARY}")
endif()
if(NOT dynamic MATCHES "Shared library: \\[libtorch_cuda\\.so")
  message(FATAL_ERROR "check_nccl_linked: ${LIBRARY} does not need libtorch_cuda.so, which "
                      "defines ProcessGroupNCCL")
endif()
message(STATUS "NCCL path linked: ${LIBRARY} calls ProcessGroupNCCL and needs libtorch_cuda.so")
