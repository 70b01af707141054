# The Debian package: `cpack -G DEB` in the build directory writes
# ra-cpp_<version>_<arch>.deb with everything `cmake --install` installs (libra, headers,
# CMake and pkg-config files, ra-node, ra-ctl, ra-inspect, the systemd unit and the default
# config), installed under /usr. Its runtime dependencies (libcaf, libspdlog, libssl, ...)
# come from dpkg-shlibdeps (dpkg-dev); the maintainer scripts in debian/ create the user
# ra-cpp, /var/lib/ra-cpp and /etc/ra-cpp/ra-node.json. test/package/deb_install.sh
# builds it, installs it with apt-get and runs ra-node --version.
set(CPACK_PACKAGE_NAME ra-cpp)
set(CPACK_PACKAGE_VENDOR "ra-cpp")
set(CPACK_PACKAGE_CONTACT "ra-cpp maintainers <ra-cpp@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Raft library and node for persistent replicated state machines (CAF 0.17)")
set(CPACK_PACKAGE_DESCRIPTION
    "ra-cpp runs thousands of Raft clusters in one process, in the spirit of RabbitMQ's Ra.
This package has the library (libra, headers, CMake and pkg-config files), ra-node with a
systemd unit (config /etc/ra-cpp/ra-node.json, data /var/lib/ra-cpp, user ra-cpp), ra-ctl
and ra-inspect.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Install with DESTDIR so that CMAKE_INSTALL_PREFIX is /usr while packaging (the unit
# written by service.cmake names /usr/bin/ra-node, not the staging directory).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
# Debug info stays in the build tree (the library is ~100 MB with it).
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The headers need the development packages of what they include.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd, libcaf-dev (>= 0.17.6), nlohmann-json3-dev (>= 3), libssl-dev, prometheus-cpp-dev")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_SOURCE_DIR}/debian/postinst
    ${CMAKE_CURRENT_SOURCE_DIR}/debian/prerm
    ${CMAKE_CURRENT_SOURCE_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
