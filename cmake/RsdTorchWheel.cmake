# rsd_torch_wheel_links(): with PyPI's libtorch (torch 2.x CUDA wheel), libtorch_cuda finds NCCL,
# cuDNN, cuBLAS... in the nvidia-* wheels beside it, through its RPATH. When linking a program,
# ld looks for those libraries in the program's -rpath directories first, where a CUDA toolkit
# with an older NCCL (/usr/local/cuda/lib here) wins and leaves libtorch_cuda's NCCL symbols
# undefined; -rpath-link directories come before them. No effect on other libtorchs (no nvidia/
# beside them). Used by librsd's build and by its installed rsdConfig.cmake.
include_guard(GLOBAL)

function(rsd_torch_wheel_links)
  if(NOT TARGET torch OR NOT TORCH_INSTALL_PREFIX)
    return()
  endif()
  file(GLOB wheel_libs LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")
  if(NOT wheel_libs)
    return()
  endif()
  list(JOIN wheel_libs ":" search_path)
  get_target_property(options torch INTERFACE_LINK_OPTIONS)
  if(NOT options OR NOT "LINKER:-rpath-link,${search_path}" IN_LIST options)
    set_property(TARGET torch APPEND PROPERTY INTERFACE_LINK_OPTIONS
                 "LINKER:-rpath-link,${search_path}")
  endif()
endfunction()
