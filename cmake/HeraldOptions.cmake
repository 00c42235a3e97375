# Compiler flags shared by every herald target, and the sanitizer switch.
add_library(herald_build_flags INTERFACE)
target_compile_options(herald_build_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 reports false positives inside std::variant and moodycamel.
  target_compile_options(herald_build_flags INTERFACE -Wno-maybe-uninitialized -Wno-interference-size)
endif()

if(HERALD_SANITIZE STREQUAL "address")
  set(_herald_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
elseif(HERALD_SANITIZE STREQUAL "thread")
  set(_herald_san -fsanitize=thread -fno-omit-frame-pointer)
elseif(HERALD_SANITIZE STREQUAL "undefined")
  set(_herald_san -fsanitize=undefined -fno-sanitize-recover=undefined)
elseif(NOT HERALD_SANITIZE STREQUAL "")
  message(FATAL_ERROR "HERALD_SANITIZE must be address, thread, undefined or empty, not '${HERALD_SANITIZE}'")
endif()
if(_herald_san)
  add_compile_options(${_herald_san})
  add_link_options(${_herald_san})
endif()

find_program(HERALD_CCACHE ccache)
if(HERALD_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${HERALD_CCACHE})
endif()

macro(herald_find_header var header)
  find_path(${var} ${header} REQUIRED)
endmacro()

# Link-time optimization in Release builds: a message crosses the layers'
# libraries (wire, runtime, actors) in many small calls that only the linker
# can inline (tell 64 B +7-15 % in tools/herald-bench, bench/RESULTS.md). The
# archives keep ordinary object code beside the LTO bytecode (fat objects),
# so that a program linking an installed herald needs no LTO of its own.
option(HERALD_LTO "Link-time optimization in Release builds" ON)
if(HERALD_LTO AND CMAKE_BUILD_TYPE STREQUAL "Release" AND HERALD_SANITIZE STREQUAL "")
  include(CheckIPOSupported)
  check_ipo_supported(RESULT _herald_ipo OUTPUT _herald_ipo_why LANGUAGES CXX)
  if(_herald_ipo)
    set(CMAKE_INTERPROCEDURAL_OPTIMIZATION ON)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      add_compile_options(-ffat-lto-objects)
    endif()
  else()
    message(STATUS "herald: no link-time optimization (${_herald_ipo_why})")
  endif()
endif()
