# The Rust binding (bindings/rust, crate `focal`) tested with cargo against
# the library installed by the focal_prefix fixture (bindings/tests.cmake).
# Fails when cargo is missing, unless FOCAL_SKIP_FFI=1 (then skipped).
if(TARGET focal)
  add_test(NAME ffi_rust
           COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/run.sh" "${FOCAL_FFI_PREFIX}/env.sh"
                   "${CMAKE_CURRENT_BINARY_DIR}/ffi-rust")
  set_tests_properties(ffi_rust PROPERTIES
    FIXTURES_REQUIRED focal_prefix
    LABELS ffi
    SKIP_RETURN_CODE 77
    TIMEOUT 900)
endif()
