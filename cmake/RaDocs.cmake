# The API reference: `cmake --build build --target docs` runs Doxygen over the public
# headers (include/ra/) into build/docs/html. Every public symbol must be documented:
# an undocumented one (or a malformed doc comment) is a warning, and any warning fails
# the build (the ctest `api_docs` builds this target, so CI fails too). Internals are
# out of the reference: the detail namespaces, the CAF inspect overloads (wire plumbing
# that every value type has; include/ra/inspect.hpp says what they are for) and the
# specializations of std templates (std::hash).
find_package(Doxygen)
if(DOXYGEN_FOUND)
  set(DOXYGEN_PROJECT_NAME "ra-cpp")
  set(DOXYGEN_PROJECT_NUMBER "${PROJECT_VERSION}")
  set(DOXYGEN_PROJECT_BRIEF "Raft runtime for C++ in the spirit of RabbitMQ's Ra")
  set(DOXYGEN_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/docs")
  set(DOXYGEN_GENERATE_HTML YES)
  set(DOXYGEN_GENERATE_LATEX NO)
  set(DOXYGEN_HAVE_DOT NO)
  set(DOXYGEN_QUIET YES)
  set(DOXYGEN_RECURSIVE YES)
  set(DOXYGEN_FILE_PATTERNS "*.hpp")
  set(DOXYGEN_STRIP_FROM_PATH "${PROJECT_SOURCE_DIR}/include")
  set(DOXYGEN_STRIP_FROM_INC_PATH "${PROJECT_SOURCE_DIR}/include")
  set(DOXYGEN_JAVADOC_AUTOBRIEF YES)
  # One comment documents a group of overloads (/// @{ ... /// @}): the first member's.
  set(DOXYGEN_DISTRIBUTE_GROUP_DOC YES)
  set(DOXYGEN_EXTRACT_ALL NO)
  set(DOXYGEN_EXTRACT_PRIVATE NO)
  set(DOXYGEN_EXTRACT_ANON_NSPACES NO)
  set(DOXYGEN_EXCLUDE_SYMBOLS "*::detail" "*::detail::*" "detail" "detail::*" "*::wire_detail" "*::wire_detail::*" "*::fifo_detail" "*::fifo_detail::*"
      "inspect" "std" "std::*")
  set(DOXYGEN_WARNINGS YES)
  set(DOXYGEN_WARN_IF_UNDOCUMENTED YES)
  set(DOXYGEN_WARN_IF_DOC_ERROR YES)
  set(DOXYGEN_WARN_NO_PARAMDOC NO)
  set(DOXYGEN_WARN_AS_ERROR FAIL_ON_WARNINGS)
  doxygen_add_docs(docs "${PROJECT_SOURCE_DIR}/include/ra"
                   WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                   COMMENT "API reference (Doxygen) into ${CMAKE_BINARY_DIR}/docs/html")
endif()
