# focal_isolate_coverage_profiles(): with FOCAL_COVERAGE_PROFILES set (a
# directory; .ci/coverage.sh sets it), every test of the calling directory
# writes its gcov counters under FOCAL_COVERAGE_PROFILES/<test name>
# (GCOV_PREFIX) instead of beside the object files. Every process that
# loads the library rewrites all of the library's counter files when it
# exits, so tests run in parallel would otherwise merge into the same
# files at the same moments; apart, a test whose counters cannot be read
# is named, and costs only its own share. .ci/coverage.sh merges the
# directories with gcov-tool.
set(FOCAL_COVERAGE_PROFILES "" CACHE PATH
  "Directory for per-test gcov counters (coverage builds only; empty: beside the objects)")

function(focal_isolate_coverage_profiles)
  if(FOCAL_COVERAGE_PROFILES STREQUAL "")
    return()
  endif()
  get_property(_tests DIRECTORY PROPERTY TESTS)
  foreach(_test IN LISTS _tests)
    get_test_property(${_test} ENVIRONMENT _env)
    if(NOT _env)
      set(_env "")
    endif()
    list(APPEND _env "GCOV_PREFIX=${FOCAL_COVERAGE_PROFILES}/${_test}")
    set_tests_properties(${_test} PROPERTIES ENVIRONMENT "${_env}")
  endforeach()
endfunction()
