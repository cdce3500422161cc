# Debian binary packages built by CPack from the install components:
#
#   libfocal<SOVERSION>  runtime   the shared object and its SONAME link
#   libfocal-dev         dev       the header, the libfocal.so link, libfocal.a
#                                  when built, focal.pc and the CMake package
#
# Each package also holds /usr/share/doc/<package>/copyright and
# changelog.gz, as Debian policy asks of every package. Those files belong to
# two components of their own, runtime_doc and dev_doc, excluded from a plain
# `cmake --install`; the packages pull them in through component groups, so
# an ordinary install stays exactly the header, the library, focal.pc and the
# CMake package.
#
# The packages are built from a tree configured with
# -DCMAKE_INSTALL_PREFIX=/usr: GNUInstallDirs then puts the libraries in the
# Debian multiarch directory (lib/x86_64-linux-gnu on amd64), and focal.pc
# is written with prefix=/usr. Then, in the build tree: cpack -G DEB.
# See docs/packaging.md.

if(NOT TARGET focal)
  message(STATUS "No Debian packages: they need the shared library (FOCAL_BUILD_SHARED=ON)")
  return()
endif()

set(FOCAL_DEB_MAINTAINER "The libfocal authors <maintainers@libfocal.org>"
    CACHE STRING "The Maintainer field of the Debian packages")
set(FOCAL_DEB_HOMEPAGE "https://libfocal.org"
    CACHE STRING "The Homepage field of the Debian packages")
set(FOCAL_DEB_RUNTIME_PACKAGE "libfocal${FOCAL_SOVERSION}")

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "Debian packages (cpack -G DEB) need -DCMAKE_INSTALL_PREFIX=/usr; "
                 "this tree installs to ${CMAKE_INSTALL_PREFIX}")
endif()

# --- /usr/share/doc/<package> ----------------------------------------------

set(_focal_deb_dir "${PROJECT_BINARY_DIR}/debian")
if(NOT EXISTS "${PROJECT_SOURCE_DIR}/LICENSE")
  message(WARNING "${PROJECT_SOURCE_DIR}/LICENSE is missing: the Debian packages get no "
                  "copyright and changelog files")
else()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/LICENSE")

  # The copyright file in Debian's machine-readable format (DEP-5), with the
  # text of LICENSE as the license paragraph.
  file(STRINGS "${PROJECT_SOURCE_DIR}/LICENSE" _focal_license_lines)
  set(_focal_copyright_holder "")
  set(_focal_license_body "")
  set(_focal_license_started FALSE)
  foreach(_line IN LISTS _focal_license_lines)
    if(_line MATCHES "^Copyright \\([cC]\\) (.*)$")
      set(_focal_copyright_holder "${CMAKE_MATCH_1}")
    endif()
    if(NOT _focal_license_started AND _line STREQUAL "")
      continue()
    endif()
    set(_focal_license_started TRUE)
    if(_line STREQUAL "")
      string(APPEND _focal_license_body " .\n")
    else()
      string(APPEND _focal_license_body " ${_line}\n")
    endif()
  endforeach()
  if(_focal_copyright_holder STREQUAL "")
    message(FATAL_ERROR "no 'Copyright (c) ...' line in ${PROJECT_SOURCE_DIR}/LICENSE")
  endif()
  file(CONFIGURE OUTPUT "${_focal_deb_dir}/copyright" @ONLY CONTENT
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: libfocal
Source: @FOCAL_DEB_HOMEPAGE@

Files: *
Copyright: @_focal_copyright_holder@
License: MIT
@_focal_license_body@")

  # The packages are Debian-native (version 1.0.0, no Debian revision), so
  # their changelog.gz must be in the Debian changelog format; it points to
  # the project's CHANGELOG.md for the changes themselves. The date honours
  # SOURCE_DATE_EPOCH for reproducible packages.
  string(TIMESTAMP _focal_deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
  file(CONFIGURE OUTPUT "${_focal_deb_dir}/changelog" @ONLY CONTENT
"libfocal (@PROJECT_VERSION@) unstable; urgency=medium

  * libfocal @PROJECT_VERSION@, built from the upstream sources; the changes
    are listed in CHANGELOG.md there and at @FOCAL_DEB_HOMEPAGE@.

 -- @FOCAL_DEB_MAINTAINER@  @_focal_deb_date@
")
  # gzip -n leaves the time stamp out of the header, as Debian wants.
  find_program(FOCAL_GZIP gzip)
  mark_as_advanced(FOCAL_GZIP)
  set(_focal_gzip_result 1)
  if(FOCAL_GZIP)
    execute_process(COMMAND "${FOCAL_GZIP}" -9nc "${_focal_deb_dir}/changelog"
                    OUTPUT_FILE "${_focal_deb_dir}/changelog.gz"
                    RESULT_VARIABLE _focal_gzip_result)
  endif()
  if(NOT _focal_gzip_result EQUAL 0)
    file(ARCHIVE_CREATE OUTPUT "${_focal_deb_dir}/changelog.gz" PATHS "${_focal_deb_dir}/changelog"
         FORMAT raw COMPRESSION GZip COMPRESSION_LEVEL 9)
  endif()

  install(FILES "${_focal_deb_dir}/copyright" "${_focal_deb_dir}/changelog.gz"
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${FOCAL_DEB_RUNTIME_PACKAGE}
          COMPONENT runtime_doc EXCLUDE_FROM_ALL)
  install(FILES "${_focal_deb_dir}/copyright" "${_focal_deb_dir}/changelog.gz"
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/libfocal-dev
          COMPONENT dev_doc EXCLUDE_FROM_ALL)
  install(FILES "${_focal_deb_dir}/copyright" "${_focal_deb_dir}/changelog.gz"
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/python3-libfocal
          COMPONENT python_doc EXCLUDE_FROM_ALL)
endif()

# --- CPack ------------------------------------------------------------------

set(CPACK_PACKAGE_NAME "libfocal")
set(CPACK_PACKAGE_VENDOR "The libfocal authors")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_HOMEPAGE_URL "${FOCAL_DEB_HOMEPAGE}")
set(CPACK_PACKAGE_CONTACT "${FOCAL_DEB_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_GENERATOR "DEB")
set(CPACK_STRIP_FILES ON)

# Only these components are packaged: whatever else a subdirectory may
# install stays out (tests, examples and bench install nothing today).
set(CPACK_COMPONENTS_ALL runtime runtime_doc dev dev_doc python python_doc)
set(CPACK_COMPONENT_RUNTIME_GROUP runtime)
set(CPACK_COMPONENT_RUNTIME_DOC_GROUP runtime)
set(CPACK_COMPONENT_DEV_GROUP dev)
set(CPACK_COMPONENT_DEV_DOC_GROUP dev)
set(CPACK_COMPONENT_PYTHON_GROUP python)
set(CPACK_COMPONENT_PYTHON_DOC_GROUP python)

# python3-libfocal: the Python package (bindings/python/libfocal, pure
# Python: ctypes over libfocal1) in Debian's dist-packages. Only the
# package carries it: a plain `cmake --install` does not (pip installs the
# binding anywhere else, bindings/python/README.md).
install(DIRECTORY "${PROJECT_SOURCE_DIR}/bindings/python/libfocal"
        DESTINATION lib/python3/dist-packages COMPONENT python EXCLUDE_FROM_ALL
        FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)
set(CPACK_DEB_COMPONENT_INSTALL ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${FOCAL_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${FOCAL_DEB_HOMEPAGE}")
set(CPACK_DEBIAN_PACKAGE_SOURCE "libfocal")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_COMPRESSION_TYPE "xz")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME "${FOCAL_DEB_RUNTIME_PACKAGE}")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION "libs")
# dpkg-shlibdeps (dpkg-dev) turns the NEEDED entries of the library into
# Depends, from the shlibs files of the packages that provide them: on
# Debian 12 "libc6 (>= 2.34), libopenblas0". The shlibs file generated for
# libfocal1 lets packages built against libfocal depend on a libfocal1 at
# least as new as the one they were built with. CPack needs `file` for
# both; without the tools the Depends are written out here instead.
find_program(FOCAL_DPKG_SHLIBDEPS dpkg-shlibdeps)
find_program(FOCAL_FILE file)
mark_as_advanced(FOCAL_DPKG_SHLIBDEPS FOCAL_FILE)
if(FOCAL_DPKG_SHLIBDEPS AND FOCAL_FILE)
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
else()
  message(STATUS "dpkg-shlibdeps or file not found: libfocal1 gets fixed Depends and no shlibs file")
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "libc6, libopenblas0")
endif()
# Debian runs ldconfig through a dpkg trigger. CPack also writes postinst
# and postrm scripts that only call it; cmake/deb_drop_ldconfig.cmake,
# run after the packages are built, takes them out.
file(WRITE "${_focal_deb_dir}/triggers" "activate-noawait ldconfig\n")

# The symbols file (deb-symbols(5)): every exported symbol with its version
# node and the release that added it, read from the linker version script
# so that it cannot drift from what the library exports: FOCAL_1.0's
# symbols need libfocal1 >= 1.0.0, FOCAL_1.1's >= 1.1.0.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/focal.map")
file(STRINGS "${PROJECT_SOURCE_DIR}/src/focal.map" _focal_map_lines)
set(_focal_symbols "libfocal.so.${FOCAL_SOVERSION} ${FOCAL_DEB_RUNTIME_PACKAGE} #MINVER#\n")
set(_focal_node "")
foreach(_line IN LISTS _focal_map_lines)
  if(_line MATCHES "^(FOCAL_([0-9]+)\\.([0-9]+)) {")
    set(_focal_node "${CMAKE_MATCH_1}")
    set(_focal_node_version "${CMAKE_MATCH_2}.${CMAKE_MATCH_3}.0")
    string(APPEND _focal_symbols " ${_focal_node}@${_focal_node} ${_focal_node_version}\n")
  elseif(_focal_node AND _line MATCHES "^ +(focal_[a-z0-9_]+);")
    string(APPEND _focal_symbols " ${CMAKE_MATCH_1}@${_focal_node} ${_focal_node_version}\n")
  endif()
endforeach()
file(WRITE "${_focal_deb_dir}/symbols" "${_focal_symbols}")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA "${_focal_deb_dir}/triggers;${_focal_deb_dir}/symbols")
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
"focal loss for dense object detection - shared library
libfocal computes the focal loss of Lin et al. (ICCV 2017), forward and
backward, in float32 and float64, over any (N, C, d1..dk) tensor, in
softmax and sigmoid mode. Its C ABI takes only scalars, enums and pointers,
so it can be called from C, C++, Rust, Go, Julia and Python.

This package contains the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME "libfocal-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION "libdevel")
# The header must match the library of the same build, hence
# libfocal1 (= <version>), written by CPack from the component dependency.
# focal.pc has Requires.private: openblas, which pkg-config --static and
# a static libfocal.a need: libopenblas-dev provides openblas.pc.
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_COMPONENT_DEV_DEPENDS runtime)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libopenblas-dev")
set(CPACK_DEBIAN_DEV_DESCRIPTION
"focal loss for dense object detection - development files
libfocal computes the focal loss of Lin et al. (ICCV 2017), forward and
backward, in float32 and float64, over any (N, C, d1..dk) tensor, in
softmax and sigmoid mode. Its C ABI takes only scalars, enums and pointers,
so it can be called from C, C++, Rust, Go, Julia and Python.

This package contains the header focal/focal.h, the pkg-config file
focal.pc and the CMake package focal (imported target focal::focal).")

set(CPACK_POST_BUILD_SCRIPTS "${CMAKE_CURRENT_LIST_DIR}/deb_drop_ldconfig.cmake")

set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME "python3-libfocal")
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION "python")
set(CPACK_DEBIAN_PYTHON_PACKAGE_ARCHITECTURE "all")
set(CPACK_COMPONENT_PYTHON_DEPENDS runtime)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "python3:any, python3-numpy")
set(CPACK_DEBIAN_PYTHON_DESCRIPTION
"focal loss for dense object detection - Python bindings
libfocal computes the focal loss of Lin et al. (ICCV 2017) and the losses
that grew from it, forward and backward, in float32, float64, bfloat16 and
float16, over any (N, C, d1..dk) tensor, in softmax and sigmoid mode.

This package contains the Python module libfocal (numpy arrays through
ctypes) and libfocal.nn (a torch.autograd.Function and modules, used when
PyTorch is installed).")

include(CPack)
