# Component helpers. Each engine/ folder is one static component library
# (sipmix_<name>), so a component and its tests build without the others.
# The installed libsipmix.a is assembled from every component's objects.

set_property(GLOBAL PROPERTY SIPMIX_COMPONENTS "")

# The engine's internal include roots. Linked PRIVATE by the engine's own
# components, and by white-box code only: unit tests, fuzz targets and
# benchmarks of internal parts. Tools and the gateway use engine/include/.
add_library(sipmix_internal_headers INTERFACE)
target_include_directories(sipmix_internal_headers INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/engine>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)

# sipmix_component(<name> [DEPS <targets>...])
# Sources: every *.cc in the calling folder.
function(sipmix_component name)
  cmake_parse_arguments(A "" "" "DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  if(NOT _srcs)  # a component still being written: keep the target valid
    set(_srcs ${CMAKE_CURRENT_BINARY_DIR}/sipmix_${name}_empty.cc)
    file(WRITE ${_srcs} "// sipmix_${name} has no sources yet\n")
  endif()
  add_library(sipmix_${name} STATIC ${_srcs})
  # Users see the public API only; the engine's internals ("<component>/x.h"
  # from engine/, "simd/x.h" from the top) are private to the engine.
  target_include_directories(sipmix_${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/engine/include>)
  target_link_libraries(sipmix_${name} PUBLIC ${A_DEPS} PRIVATE sipmix_internal_headers)
  set_property(GLOBAL APPEND PROPERTY SIPMIX_COMPONENTS sipmix_${name})
endfunction()

# sipmix_test(<name> SOURCES... LIBS...): one GoogleTest executable, registered with ctest.
function(sipmix_test name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS} sipmix_test_support sipmix_internal_headers GTest::gtest GTest::gmock)
  target_compile_definitions(${name} PRIVATE SIPMIX_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${name}")
endfunction()
