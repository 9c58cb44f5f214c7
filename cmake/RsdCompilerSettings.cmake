# Language level, warnings, sanitizers, ccache and precompiled headers.
include_guard(GLOBAL)

set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

if(RSD_USE_CCACHE)
  find_program(RSD_CCACHE_PROGRAM ccache)
  if(RSD_CCACHE_PROGRAM)
    # pch_defines/time_macros let ccache cache units that use the precompiled header; depend mode
    # skips the preprocessor run on a miss, which would expand all of libtorch's headers again.
    set(CMAKE_CXX_COMPILER_LAUNCHER
        "${CMAKE_COMMAND}" -E env
        "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
        "CCACHE_DEPEND=1"
        "${RSD_CCACHE_PROGRAM}")
    set(CMAKE_CUDA_COMPILER_LAUNCHER "${RSD_CCACHE_PROGRAM}")
  endif()
endif()

# rsd_set_warnings(target): the project's warning set for its own targets.
function(rsd_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
  if(RSD_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
  endif()
endfunction()

if(RSD_SANITIZE)
  add_compile_options(-fsanitize=${RSD_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${RSD_SANITIZE})
endif()

# rsd_use_torch_pch(target): compile the target's libtorch-using sources against one shared
# precompiled header. Each unit that includes libtorch costs ~20 s without it; sources that do not
# touch libtorch opt out with the SKIP_PRECOMPILE_HEADERS source property.
function(rsd_use_torch_pch target)
  if(NOT RSD_USE_PCH)
    return()
  endif()
  if(NOT TARGET rsd_torch_pch)
    message(FATAL_ERROR "rsd_torch_pch must be defined before rsd_use_torch_pch(${target})")
  endif()
  target_precompile_headers(${target} REUSE_FROM rsd_torch_pch)
  # The header is built for a shared library (-fPIC); GCC refuses it for units compiled as position
  # independent executables (-fPIE), so executables are compiled with -fPIC too (still linked PIE).
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
endfunction()
