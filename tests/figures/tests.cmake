# The figures of README and docs are drawn by committed scripts from
# libfocal's own output: this test draws Figure 1 (docs/figures/focal_curves.py)
# with the library just built, whose values the script checks against the
# closed forms first. Skipped (77) where numpy or matplotlib is missing.
if(TARGET focal)
  find_program(FOCAL_FIGURE_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  mark_as_advanced(FOCAL_FIGURE_PYTHON)
  if(FOCAL_FIGURE_PYTHON)
    add_test(NAME figure_focal_curves
             COMMAND sh -c "\"$1\" -c 'import numpy, matplotlib' 2>/dev/null || { echo 'SKIP: numpy or matplotlib missing (apt-get install python3-matplotlib)'; exit 77; }; FOCAL_LIBRARY=\"$2\" exec \"$1\" \"$3\" focal-loss.svg" sh
                     ${FOCAL_FIGURE_PYTHON} $<TARGET_FILE:focal>
                     ${PROJECT_SOURCE_DIR}/docs/figures/focal_curves.py
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    # Label ffi too: it loads the library into Python, which the sanitizer
    # and coverage stages leave out as they do the bindings.
    set_tests_properties(figure_focal_curves PROPERTIES SKIP_RETURN_CODE 77 LABELS "figures;ffi")
  endif()
endif()
