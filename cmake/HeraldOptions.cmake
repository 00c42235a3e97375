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
