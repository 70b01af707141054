# Finds the Debian bookworm packages ra-cpp builds against.
# CAF 0.17.6 (libcaf-dev) ships no CMake config, so its headers and libraries are
# located by hand and wrapped in imported targets (CAF::core, CAF::io, CAF::openssl).
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
# prometheus-cpp-dev: ra_prometheus (Ra's metrics over HTTP for Prometheus; ra-node's metrics_listen).
find_package(prometheus-cpp REQUIRED)

find_path(CAF_INCLUDE_DIR caf/all.hpp)
find_library(CAF_CORE_LIBRARY NAMES caf_core)
find_library(CAF_IO_LIBRARY NAMES caf_io)
find_library(CAF_OPENSSL_LIBRARY NAMES caf_openssl)
find_package(OpenSSL REQUIRED)
if(NOT CAF_INCLUDE_DIR OR NOT CAF_CORE_LIBRARY OR NOT CAF_IO_LIBRARY OR NOT CAF_OPENSSL_LIBRARY)
  message(FATAL_ERROR "CAF 0.17 not found: install libcaf-dev (scripts/install-deps.sh does it)")
endif()
if(NOT TARGET CAF::core)
  add_library(CAF::core SHARED IMPORTED)
  set_target_properties(CAF::core PROPERTIES
    IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
  add_library(CAF::io SHARED IMPORTED)
  set_target_properties(CAF::io PROPERTIES
    IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
    INTERFACE_LINK_LIBRARIES CAF::core)
  # Mutual TLS between nodes (system_config::tls_*).
  add_library(CAF::openssl SHARED IMPORTED)
  set_target_properties(CAF::openssl PROPERTIES
    IMPORTED_LOCATION "${CAF_OPENSSL_LIBRARY}"
    INTERFACE_LINK_LIBRARIES "CAF::io;OpenSSL::SSL;OpenSSL::Crypto")
endif()

if(RA_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
