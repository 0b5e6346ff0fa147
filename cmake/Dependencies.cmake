# Debian 12 packages only (scripts/install-deps.sh); nothing is downloaded at build time.
find_package(Threads REQUIRED)
find_package(tl-expected REQUIRED)
find_package(fmt REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(CLI11 REQUIRED)
if(COLO_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(COLO_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
# cpp-httplib (libcpp-httplib-dev, `colo serve`): Debian ships it compiled, with a pkg-config
# file carrying the feature macros the library was built with (they change its ABI).
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
