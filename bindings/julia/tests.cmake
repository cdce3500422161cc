# The Julia bindings (bindings/julia/src/Focal.jl) tested against the library
# installed by the focal_prefix fixture. ffi_julia reports itself skipped
# where julia is not on PATH (Debian 12 does not package it);
# ffi_julia_symbols needs no Julia.
if(TARGET focal)
  add_test(NAME ffi_julia
           COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/run.sh" "${FOCAL_FFI_PREFIX}/env.sh")
  set_tests_properties(ffi_julia PROPERTIES
    FIXTURES_REQUIRED focal_prefix
    LABELS ffi
    SKIP_RETURN_CODE 77
    TIMEOUT 900)

  add_test(NAME ffi_julia_symbols
           COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/check_symbols.sh" "${FOCAL_FFI_PREFIX}/env.sh")
  set_tests_properties(ffi_julia_symbols PROPERTIES
    FIXTURES_REQUIRED focal_prefix
    LABELS ffi
    TIMEOUT 60)
endif()
