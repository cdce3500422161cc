# The ABI guard: a RelWithDebInfo build of the current sources, compared by
# abidiff (abigail-tools) with the baselines tests/abi/libfocal-<major>.*.abi
# that update_baseline.sh writes once per minor release (check_abi.sh).
if(TARGET focal)
  add_test(NAME abi_compat
    COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/check_abi.sh" "${PROJECT_SOURCE_DIR}"
            "${CMAKE_CURRENT_BINARY_DIR}/abi_compat.scratch")
  set_tests_properties(abi_compat PROPERTIES
    ENVIRONMENT "CC=${CMAKE_C_COMPILER};CMAKE=${CMAKE_COMMAND}")
else()
  add_test(NAME abi_compat
    COMMAND bash -c "echo 'SKIP: the ABI check needs the shared library (FOCAL_BUILD_SHARED=ON)'; exit 77")
endif()
set_tests_properties(abi_compat PROPERTIES
  LABELS "abi"
  SKIP_RETURN_CODE 77
  TIMEOUT 300)
