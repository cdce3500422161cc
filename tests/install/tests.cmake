# What a user of the installed shared library sees: the installed tree and
# two consumers built against it (pkg-config and find_package), the dynamic
# symbol table, and the version stated in every place. These are shell
# scripts run by bash; they need the shared library target.
if(TARGET focal)
  set(_focal_install_dir "${CMAKE_CURRENT_LIST_DIR}")
  set(_focal_install_env
    "CC=${CMAKE_C_COMPILER}"
    "CMAKE=${CMAKE_COMMAND}"
    "PKG_CONFIG=${PKG_CONFIG_EXECUTABLE}")
  if(TARGET focal_static)
    list(APPEND _focal_install_env "FOCAL_EXPECT_STATIC=1")
  endif()

  add_test(NAME install_consumers
    COMMAND bash "${_focal_install_dir}/run_consumers.sh"
            "${PROJECT_BINARY_DIR}" "${PROJECT_SOURCE_DIR}"
            "${CMAKE_CURRENT_BINARY_DIR}/install_consumers.scratch" "$<CONFIG>")
  set_tests_properties(install_consumers PROPERTIES
    ENVIRONMENT "${_focal_install_env}"
    LABELS "install"
    SKIP_RETURN_CODE 77
    TIMEOUT 300)

  add_test(NAME exported_symbols
    COMMAND bash "${_focal_install_dir}/check_symbols.sh" "$<TARGET_FILE:focal>"
            "${PROJECT_SOURCE_DIR}/include/focal/focal.h" "${FOCAL_VERSION_SCRIPT}")
  set_tests_properties(exported_symbols PROPERTIES
    LABELS "install"
    TIMEOUT 60)

  add_test(NAME version_consistency
    COMMAND bash "${_focal_install_dir}/check_version.sh" "$<TARGET_FILE:focal>"
            "${PROJECT_SOURCE_DIR}" "${PROJECT_BINARY_DIR}" "${FOCAL_SOVERSION}" "${PROJECT_VERSION}")
  set_tests_properties(version_consistency PROPERTIES
    LABELS "install"
    TIMEOUT 60)

  add_test(NAME version_mismatch_rejected
    COMMAND bash "${_focal_install_dir}/check_version_mismatch.sh" "${PROJECT_SOURCE_DIR}"
            "${CMAKE_CURRENT_BINARY_DIR}/version_mismatch_rejected.scratch")
  set_tests_properties(version_mismatch_rejected PROPERTIES
    ENVIRONMENT "${_focal_install_env}"
    LABELS "install"
    TIMEOUT 120)
endif()
