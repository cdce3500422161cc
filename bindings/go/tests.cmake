# The Go binding (bindings/go, module libfocal.org/libfocal/bindings/go) tested with go
# test against the library installed by the focal_prefix fixture
# (bindings/tests.cmake). Fails when go is missing, unless FOCAL_SKIP_FFI=1
# (then skipped).
if(TARGET focal)
  add_test(NAME ffi_go
           COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/run.sh" "${FOCAL_FFI_PREFIX}/env.sh"
                   "${CMAKE_CURRENT_BINARY_DIR}/ffi-go")
  set_tests_properties(ffi_go PROPERTIES
    FIXTURES_REQUIRED focal_prefix
    LABELS ffi
    SKIP_RETURN_CODE 77
    TIMEOUT 900)
endif()
