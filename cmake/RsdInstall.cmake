# cmake --install: the libraries, their public headers, one export set per library (rsd::core,
# rsd::rsd, rsd::synth, rsd::drive) that find_package(rsd [COMPONENTS core rsd synth drive])
# imports, and the configs.
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

set(RSD_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/rsd")

# rsd_install_library(target export_set)
function(rsd_install_library target export_set)
  install(TARGETS ${target} EXPORT ${export_set}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT ${export_set} NAMESPACE rsd:: DESTINATION ${RSD_INSTALL_CMAKEDIR})
endfunction()

rsd_install_library(rsd_core rsdCoreTargets)
if(RSD_CORE_ONLY)
  # Only the headers of rsd::core, so that an installed core-only tree offers nothing it cannot link.
  foreach(header IN LISTS RSD_CORE_PUBLIC_HEADERS)
    get_filename_component(folder "${header}" DIRECTORY)
    install(FILES "${PROJECT_SOURCE_DIR}/include/${header}"
            DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${folder})
  endforeach()
else()
  rsd_install_library(rsd rsdTargets)
  rsd_install_library(rsd_synth rsdSynthTargets)
  rsd_install_library(rsd_closed_loop rsdDriveTargets)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/rsd" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          FILES_MATCHING PATTERN "*.h")
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/configs/" DESTINATION ${CMAKE_INSTALL_DATADIR}/rsd/configs)
endif()
install(FILES "${PROJECT_BINARY_DIR}/include/rsd/version.h"
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rsd)

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/rsdConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/rsdConfig.cmake"
                              INSTALL_DESTINATION ${RSD_INSTALL_CMAKEDIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/rsdConfigVersion.cmake"
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/rsdConfig.cmake" "${PROJECT_BINARY_DIR}/rsdConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/RsdTorchWheel.cmake"
        DESTINATION ${RSD_INSTALL_CMAKEDIR})
