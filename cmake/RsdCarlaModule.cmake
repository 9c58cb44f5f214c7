# The CARLA leaderboard agent's Python module rsd_carla (tools/carla, docs/carla-agent.md): built
# only where pybind11 is found (Debian: pybind11-dev) together with the headers of the Python it is
# built for, Debian's /usr/bin/python3 (which has python3-numpy) unless PYTHON_EXECUTABLE names
# another. The configure log says which way it went; a missing piece never fails the configure
# (pybind11's own Python search would, hence the header check first).
if(EXISTS /usr/bin/python3)
  set(PYTHON_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "the Python the rsd_carla module is built for")
else()
  find_program(PYTHON_EXECUTABLE NAMES python3 DOC "the Python the rsd_carla module is built for")
endif()

set(rsd_carla_python_include "")
if(PYTHON_EXECUTABLE)
  execute_process(COMMAND "${PYTHON_EXECUTABLE}" -c "import sysconfig; print(sysconfig.get_paths()['include'])"
                  OUTPUT_VARIABLE rsd_carla_python_include OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()

if(NOT EXISTS "${rsd_carla_python_include}/Python.h")
  message(STATUS "rsd_carla (CARLA agent module): skipped, no Python headers for '${PYTHON_EXECUTABLE}' "
                 "(Debian: python3-dev; or -DPYTHON_EXECUTABLE=...)")
  return()
endif()
find_package(pybind11 CONFIG QUIET)
if(NOT pybind11_FOUND)
  message(STATUS "rsd_carla (CARLA agent module): skipped, pybind11 not found (scripts/setup.sh installs pybind11-dev)")
  return()
endif()
add_subdirectory(${PROJECT_SOURCE_DIR}/tools/carla ${PROJECT_BINARY_DIR}/tools/carla)
message(STATUS "rsd_carla (CARLA agent module): built with pybind11 ${pybind11_VERSION} for ${PYTHON_EXECUTABLE}")
