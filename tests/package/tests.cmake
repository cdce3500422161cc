# The Debian packages made by cpack -G DEB (cmake/packaging.cmake): the
# test configures its own /usr-prefixed Release build of the sources,
# packages it and checks both packages (tests/package/check_deb.sh).
find_program(FOCAL_DPKG_DEB dpkg-deb)
mark_as_advanced(FOCAL_DPKG_DEB)
if(TARGET focal AND FOCAL_DPKG_DEB)
  set(_focal_package_env
    "CC=${CMAKE_C_COMPILER}"
    "CMAKE=${CMAKE_COMMAND}"
    "CPACK=${CMAKE_CPACK_COMMAND}"
    "PKG_CONFIG=${PKG_CONFIG_EXECUTABLE}")
  if(TARGET focal_static)
    list(APPEND _focal_package_env "FOCAL_DEB_STATIC=1")
  endif()
  add_test(NAME debian_packages
    COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/check_deb.sh" "${PROJECT_SOURCE_DIR}"
            "${CMAKE_CURRENT_BINARY_DIR}/debian_packages.scratch")
  set_tests_properties(debian_packages PROPERTIES
    ENVIRONMENT "${_focal_package_env}")
else()
  if(NOT TARGET focal)
    set(_focal_package_skip "the Debian packages need the shared library (FOCAL_BUILD_SHARED=ON)")
  else()
    set(_focal_package_skip "dpkg-deb was not found when configuring (apt-get install dpkg)")
  endif()
  add_test(NAME debian_packages
    COMMAND bash -c "echo 'SKIP: ${_focal_package_skip}'; exit 77")
endif()
set_tests_properties(debian_packages PROPERTIES
  LABELS "package"
  SKIP_RETURN_CODE 77
  TIMEOUT 600)
