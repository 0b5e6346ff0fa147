# Build options and the colo_options interface target every colo target links.
option(COLO_WERROR "Treat warnings as errors" OFF)
option(COLO_SANITIZE "Build with AddressSanitizer + UndefinedBehaviorSanitizer" OFF)
option(COLO_TSAN "Build with ThreadSanitizer" OFF)
option(COLO_BUILD_TESTS "Build tests" ON)
option(COLO_BUILD_BENCH "Build benchmarks" ON)
# Unity sources for the module libraries (CI presets: the same code, compiled in a fraction of
# the time); tests and executables are compiled file by file.
option(COLO_UNITY "Compile each module library as unity sources" OFF)
option(COLO_FUZZ "Build the libFuzzer targets in fuzz/ (clang only; instruments every library)"
  OFF)

add_library(colo_options INTERFACE)
target_compile_options(colo_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
  -Wno-sign-conversion -Wnon-virtual-dtor -Woverloaded-virtual)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # gcc 12 false positives: -Wdangling-pointer inside yaml-cpp 0.7's node/impl.h, and
  # -Wrestrict on std::string operator+ (GCC bug 105651) at -O2 and above.
  target_compile_options(colo_options INTERFACE -Wno-dangling-pointer -Wno-restrict)
endif()
if(COLO_WERROR)
  target_compile_options(colo_options INTERFACE -Werror)
endif()
if(COLO_SANITIZE)
  target_compile_options(colo_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  target_link_options(colo_options INTERFACE -fsanitize=address,undefined)
endif()
if(COLO_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "COLO_FUZZ needs clang (libFuzzer), e.g. -DCMAKE_CXX_COMPILER=clang++-19")
  endif()
  target_compile_options(colo_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(colo_options INTERFACE -fsanitize=address,undefined)
endif()
if(COLO_TSAN)
  target_compile_options(colo_options INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(colo_options INTERFACE -fsanitize=thread)
endif()
target_compile_definitions(colo_options INTERFACE COLO_VERSION="${PROJECT_VERSION}")

# colo_add_module(name SOURCES... DEPS...): one static library per module.
function(colo_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(colo_${name} STATIC ${M_SOURCES})
  set_target_properties(colo_${name} PROPERTIES UNITY_BUILD ${COLO_UNITY} UNITY_BUILD_BATCH_SIZE 8)
  target_include_directories(colo_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(colo_${name} PUBLIC colo_options ${M_DEPS})
endfunction()
