# The Python bindings (bindings/python/focal) tested against the library
# installed by the focal_prefix fixture (bindings/tests.cmake). Debian's
# /usr/bin/python3 is preferred: it is the one with python3-numpy,
# python3-torch and python3-torchvision.
if(TARGET focal)
  set(_focal_ffi_python_doc
      "Interpreter for the Python FFI tests: needs numpy; torch and torchvision for the torch tests")
  find_program(FOCAL_FFI_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH DOC "${_focal_ffi_python_doc}")
  find_program(FOCAL_FFI_PYTHON NAMES python3 DOC "${_focal_ffi_python_doc}")
  if(FOCAL_FFI_PYTHON)
    set(_focal_ffi_python "${FOCAL_FFI_PYTHON}")
  else()
    set(_focal_ffi_python python3)   # run.sh reports the test skipped
  endif()
  add_test(NAME ffi_python
           COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/run.sh" "${FOCAL_FFI_PREFIX}/env.sh" "${_focal_ffi_python}")
  set_tests_properties(ffi_python PROPERTIES
    FIXTURES_REQUIRED focal_prefix
    LABELS ffi
    SKIP_RETURN_CODE 77
    TIMEOUT 300)
endif()
