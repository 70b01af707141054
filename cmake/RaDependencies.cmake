# Finds the Debian bookworm packages ra-cpp builds against.
# CAF 0.17.6 (libcaf-dev) ships no CMake config: cmake/FindCAF.cmake locates it (and is
# installed with ra's CMake package, whose raConfig.cmake finds the same dependencies).
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
# prometheus-cpp-dev: ra_prometheus (Ra's metrics over HTTP for Prometheus; ra-node's metrics_listen).
find_package(prometheus-cpp REQUIRED)

find_package(CAF REQUIRED)   # cmake/FindCAF.cmake: CAF::core, CAF::io, CAF::openssl
find_package(spdlog REQUIRED)

if(RA_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
