# The thread pool (src/exec/pool.c). The tests reach its hidden helpers:
#   test_pool         cmocka; linked with the library's object files and
#                     with --wrap=pthread_create so that it
#                     counts the pool's thread starts and makes them fail;
#   test_pool_unload  dlopen()s and dlclose()s focal_pool_module (pool.c as
#                     a loadable module) 100 times and checks that no thread
#                     is left over;
#   bench_pool        the cost of a call against a thread per call (not a
#                     test; `bench_pool` prints its figures).
# and through the public API (pool_cases.c: four contexts, sixteen calls):
#   test_pool_stress, test_pool_fork, test_library_unload (below).
# Under ThreadSanitizer test_pool sets die_after_fork=0 itself (its fork
# tests start threads in the children). helgrind and drd do not model C11
# atomics: build test_pool for them with -DFOCAL_POOL_HELGRIND or
# -DFOCAL_POOL_DRD (pool.c and the test then annotate their atomics for the
# tool); their reports in the fork tests' children are about the lock and
# condition variables that the child handler reinitialises.
# Linux with GNU ld, lld or gold (--wrap), like tests/faults.
if(NOT (CMAKE_SYSTEM_NAME STREQUAL "Linux" AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang"))
  return()
endif()

set(FOCAL_POOL_SOURCE "${PROJECT_SOURCE_DIR}/src/exec/pool.c")

# test_pool links the library's own object files (the pool's among them),
# like tests/faults, so that the coverage build counts what it runs.
add_executable(test_pool "${CMAKE_CURRENT_LIST_DIR}/test_pool.c" "${CMAKE_CURRENT_LIST_DIR}/../support/proc.c"
  $<TARGET_OBJECTS:focal_objects>)
target_include_directories(test_pool PRIVATE "${PROJECT_SOURCE_DIR}/src" "${CMAKE_CURRENT_LIST_DIR}/../support")
target_compile_options(test_pool PRIVATE ${FOCAL_WARNINGS})
target_link_options(test_pool PRIVATE "LINKER:--wrap=pthread_create")
target_link_libraries(test_pool PRIVATE PkgConfig::CMOCKA PkgConfig::OPENBLAS Threads::Threads m)
add_test(NAME test_pool COMMAND test_pool)
set_tests_properties(test_pool PROPERTIES LABELS pool TIMEOUT 600)

add_library(focal_pool_module MODULE "${CMAKE_CURRENT_LIST_DIR}/pool_module.c" "${FOCAL_POOL_SOURCE}")
target_include_directories(focal_pool_module PRIVATE "${PROJECT_SOURCE_DIR}/src")
target_compile_options(focal_pool_module PRIVATE ${FOCAL_WARNINGS})
target_link_libraries(focal_pool_module PRIVATE Threads::Threads)
target_link_options(focal_pool_module PRIVATE "LINKER:--no-undefined")
set_target_properties(focal_pool_module PROPERTIES C_VISIBILITY_PRESET hidden)

add_executable(test_pool_unload "${CMAKE_CURRENT_LIST_DIR}/test_pool_unload.c" "${CMAKE_CURRENT_LIST_DIR}/../support/proc.c")
target_include_directories(test_pool_unload PRIVATE "${CMAKE_CURRENT_LIST_DIR}/../support")
target_compile_options(test_pool_unload PRIVATE ${FOCAL_WARNINGS})
target_compile_definitions(test_pool_unload PRIVATE
  FOCAL_POOL_MODULE="$<TARGET_FILE:focal_pool_module>")
target_link_libraries(test_pool_unload PRIVATE PkgConfig::CMOCKA Threads::Threads ${CMAKE_DL_LIBS})
add_dependencies(test_pool_unload focal_pool_module)
add_test(NAME test_pool_unload COMMAND test_pool_unload)
set_tests_properties(test_pool_unload PROPERTIES LABELS pool TIMEOUT 300)

add_executable(bench_pool "${CMAKE_CURRENT_LIST_DIR}/bench_pool.c" "${FOCAL_POOL_SOURCE}")
target_include_directories(bench_pool PRIVATE "${PROJECT_SOURCE_DIR}/src")
target_compile_options(bench_pool PRIVATE ${FOCAL_WARNINGS})
target_link_libraries(bench_pool PRIVATE Threads::Threads)

# test_pool_stress: eight callers on four shared contexts through
# libfocal.so, every result bitwise the single-threaded one. A
# ThreadSanitizer target (.ci/sanitizers.sh runs the label pool).
add_executable(test_pool_stress "${CMAKE_CURRENT_LIST_DIR}/test_pool_stress.c" "${CMAKE_CURRENT_LIST_DIR}/pool_cases.c")
target_link_libraries(test_pool_stress PRIVATE focal_test_support Threads::Threads m)
target_compile_options(test_pool_stress PRIVATE ${FOCAL_WARNINGS})
add_test(NAME test_pool_stress COMMAND test_pool_stress)
set_tests_properties(test_pool_stress PROPERTIES LABELS pool TIMEOUT 900)

# test_pool_fork: children of a process whose pool has threads (and children
# forked while other threads compute) make many calls with the parent's
# contexts, bitwise equal to the parent's single-threaded results. Two
# tests: the children, and the children forked during calls. Skipped (77)
# under ThreadSanitizer; the second also under AddressSanitizer (see the
# program's header).
add_executable(test_pool_fork "${CMAKE_CURRENT_LIST_DIR}/test_pool_fork.c" "${CMAKE_CURRENT_LIST_DIR}/pool_cases.c")
target_link_libraries(test_pool_fork PRIVATE focal_test_support Threads::Threads m)
target_compile_options(test_pool_fork PRIVATE ${FOCAL_WARNINGS})
add_test(NAME test_pool_fork COMMAND test_pool_fork children)
add_test(NAME test_pool_fork_during_calls COMMAND test_pool_fork during-calls)
set_tests_properties(test_pool_fork test_pool_fork_during_calls PROPERTIES LABELS pool TIMEOUT 300 SKIP_RETURN_CODE 77)

# test_library_unload: dlopen()s and dlclose()s the built libfocal 100
# times (this program is not linked with it), computing on four threads
# each time: no thread left over, heap and resident set flat.
add_executable(test_library_unload "${CMAKE_CURRENT_LIST_DIR}/test_library_unload.c"
  "${PROJECT_SOURCE_DIR}/tests/support/numcheck.c" "${PROJECT_SOURCE_DIR}/tests/support/proc.c")
target_include_directories(test_library_unload PRIVATE "${PROJECT_SOURCE_DIR}/tests/support")
target_compile_options(test_library_unload PRIVATE ${FOCAL_WARNINGS})
target_compile_definitions(test_library_unload PRIVATE FOCAL_LIBRARY="$<TARGET_FILE:focal>")
target_link_libraries(test_library_unload PRIVATE PkgConfig::CMOCKA Threads::Threads ${CMAKE_DL_LIBS} m)
add_dependencies(test_library_unload focal)
add_test(NAME test_library_unload COMMAND test_library_unload)
set_tests_properties(test_library_unload PROPERTIES LABELS pool TIMEOUT 300)
