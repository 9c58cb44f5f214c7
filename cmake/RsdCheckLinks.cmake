# rsd_check_links(target ALLOWED libs... | FORBIDDEN libs...): fails the configure when `target`
# links (privately or publicly) a library outside ALLOWED, or one of FORBIDDEN. It is checked at
# the end of the calling directory, after every subdirectory has added its sources and links.
include_guard(GLOBAL)

function(rsd_check_links_now target mode)
  set(expected ${ARGN})
  get_target_property(linked ${target} LINK_LIBRARIES)
  get_target_property(interface ${target} INTERFACE_LINK_LIBRARIES)
  set(offending "")
  foreach(item IN LISTS linked interface)
    # ::@(id) and ::@ bracket the links added from another directory (target_link_libraries in a
    # subdirectory); they are markers, not libraries.
    if(NOT item OR item MATCHES "NOTFOUND$" OR item MATCHES "^::@")
      continue()
    endif()
    # $<BUILD_INTERFACE:x>, $<LINK_ONLY:x> and the like name x.
    string(REGEX REPLACE "^\\$<[A-Z_]+:(.*)>$" "\\1" name "${item}")
    list(FIND expected "${name}" found)
    if((mode STREQUAL "ALLOWED" AND found EQUAL -1) OR (mode STREQUAL "FORBIDDEN" AND NOT found EQUAL -1))
      list(APPEND offending "${name}")
    endif()
  endforeach()
  if(offending)
    list(REMOVE_DUPLICATES offending)
    message(FATAL_ERROR "${target} must not link ${offending} (${mode}: ${expected}); "
                        "see the comment at the top of src/CMakeLists.txt")
  endif()
endfunction()

function(rsd_check_links target mode)
  cmake_language(EVAL CODE "
    cmake_language(DEFER CALL rsd_check_links_now [[${target}]] [[${mode}]] ${ARGN})")
endfunction()
