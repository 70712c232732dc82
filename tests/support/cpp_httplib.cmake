# cpp_httplib.cmake -- links Debian's cpp-httplib into the in-tree targets.
#
# Debian's libcpp-httplib-dev is NOT header-only: /usr/include/httplib.h only
# declares, the code is in libcpp-httplib.so, and the class layouts depend on
# the CPPHTTPLIB_*_SUPPORT macros it was built with (its pkg-config Cflags).
# tests/support/fake_http_server.hpp therefore needs both, which the globbing
# tests/CMakeLists.txt does not provide. Until the lead wires this in (e.g.
# `include(tests/support/cpp_httplib.cmake)` in the top-level CMakeLists.txt
# when tests, examples or benchmarks are built), a build dir can pull it in
# without editing any CMakeLists.txt:
#
#   cmake -S . -B build/dev ... \
#     -DCMAKE_PROJECT_lifeline_INCLUDE=$PWD/tests/support/cpp_httplib.cmake
#
# It makes every target linking `lifeline_internal` (tests, helpers,
# benchmarks, examples; never the shipped libraries) link cpp-httplib too.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIFELINE_CPP_HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)

function(lifeline_link_cpp_httplib)
  target_link_libraries(lifeline_internal INTERFACE PkgConfig::LIFELINE_CPP_HTTPLIB)
endfunction()

if(TARGET lifeline_internal)
  lifeline_link_cpp_httplib()
else()
  # Included before lifeline_internal exists (CMAKE_PROJECT_..._INCLUDE):
  # link once the top-level directory has been processed.
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL lifeline_link_cpp_httplib)
endif()
