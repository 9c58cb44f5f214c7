# cmake --install: the library, its public headers, the package files that let another project
# find_package(rsd) and link rsd::rsd, and the example configs.
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

set(RSD_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/rsd")

install(TARGETS rsd EXPORT rsdTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/rsd" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(FILES "${PROJECT_BINARY_DIR}/include/rsd/version.h"
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rsd)
install(EXPORT rsdTargets NAMESPACE rsd:: DESTINATION ${RSD_INSTALL_CMAKEDIR})

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/rsdConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/rsdConfig.cmake"
                              INSTALL_DESTINATION ${RSD_INSTALL_CMAKEDIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/rsdConfigVersion.cmake"
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/rsdConfig.cmake" "${PROJECT_BINARY_DIR}/rsdConfigVersion.cmake"
        DESTINATION ${RSD_INSTALL_CMAKEDIR})

install(DIRECTORY "${PROJECT_SOURCE_DIR}/configs/" DESTINATION ${CMAKE_INSTALL_DATADIR}/rsd/configs)
