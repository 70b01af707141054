# ra-node as a systemd service: the unit (lib/systemd/system under the prefix, so
# /usr/lib/systemd/system in the .deb) and the default node config, which the package's
# postinst copies to /etc/ra-cpp/ra-node.json if there is none (debian/postinst).
# The unit names the installed ra-node, so it is written at install time, when the prefix
# (cmake --install --prefix, or /usr for cpack) is known.
install(CODE "
  set(ra_node_bin \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/ra-node\")
  set(ra_unit \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/ra-node.service\")
  message(STATUS \"Installing: \${ra_unit}\")
  configure_file(\"${CMAKE_CURRENT_SOURCE_DIR}/ra-node.service.in\" \"\${ra_unit}\" @ONLY)
")
install(FILES ra-node.json DESTINATION ${CMAKE_INSTALL_DATADIR}/ra-cpp)
