# The FFI tests share one installed prefix, set up once per ctest run by
# the fixture below. Each language's tests.cmake (bindings/<lang>/) adds
# tests with FIXTURES_REQUIRED focal_prefix and sources
# ${FOCAL_FFI_PREFIX}/env.sh for PKG_CONFIG_PATH and LD_LIBRARY_PATH.
if(TARGET focal)
  add_test(NAME ffi_install_prefix
           COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/install_prefix.sh"
                   "${PROJECT_BINARY_DIR}" "${FOCAL_FFI_PREFIX}")
  set_tests_properties(ffi_install_prefix PROPERTIES FIXTURES_SETUP focal_prefix LABELS ffi)
endif()

# The README's "Use it from ..." programs, built and run against the same
# installed prefix (bindings/readme_examples.sh).
if(TARGET focal)
  add_test(NAME readme_examples
           COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/readme_examples.sh" "${FOCAL_FFI_PREFIX}/env.sh"
                   "${CMAKE_CURRENT_BINARY_DIR}/readme-examples")
  set_tests_properties(readme_examples PROPERTIES
    FIXTURES_REQUIRED focal_prefix
    LABELS ffi
    SKIP_RETURN_CODE 77
    TIMEOUT 900)
endif()
