# Helpers that keep each module's CMakeLists.txt a few lines long.

set(QMQ_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

add_library(qmq_flags INTERFACE)
target_compile_options(qmq_flags INTERFACE ${QMQ_WARNINGS})
target_compile_definitions(qmq_flags INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  # SSE4.2 is selected per function (crc32c) with a runtime check; nothing here.
endif()
if(QMQ_SANITIZE)
  target_compile_options(qmq_flags INTERFACE -fsanitize=address,undefined
                         -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(qmq_flags INTERFACE -fsanitize=address,undefined)
endif()
if(QMQ_FUZZ)
  target_compile_options(qmq_flags INTERFACE -fsanitize=fuzzer-no-link)
endif()

# qmq_module(NAME DEPS dep...): library qmq_NAME from src/NAME/*.cc, except
# files named main.cc. Headers are included as "NAME/file.h" from src/.
function(qmq_module name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER sources EXCLUDE REGEX ".*/main\\.cc$")
  if(sources)
    add_library(qmq_${name} STATIC ${sources})
    target_include_directories(qmq_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(qmq_${name} PUBLIC qmq_flags ${ARG_DEPS})
  else()
    add_library(qmq_${name} INTERFACE)
    target_include_directories(qmq_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(qmq_${name} INTERFACE qmq_flags ${ARG_DEPS})
  endif()
endfunction()

# qmq_unit_test(MODULE DEPS dep...): one GoogleTest binary unit_MODULE from
# tests/unit/MODULE/*.cc, registered with ctest (label "unit").
function(qmq_unit_test module)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${module}/*.cc)
  if(NOT sources)
    return()
  endif()
  add_executable(unit_${module} ${sources})
  target_link_libraries(unit_${module} PRIVATE qmq_flags ${ARG_DEPS} GTest::gtest
                        GTest::gmock GTest::gtest_main)
  target_include_directories(unit_${module} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  gtest_discover_tests(unit_${module} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
endfunction()
