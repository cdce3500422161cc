# Fault injection (tests/faults/test_faults.c): the test program is linked
# with the library's own object files, not with libfocal.so, so that the
# linker's --wrap can route the library's malloc, calloc, realloc, free and
# pthread_create through the test's wrappers, which make the k-th of them
# fail. Registered as fault_injection, and as fault_injection_<table> once
# per kernel table (skipped where the CPU cannot run it). --wrap is a GNU ld (and lld, gold) option: Linux only.
if(NOT (CMAKE_SYSTEM_NAME STREQUAL "Linux" AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang"))
  return()
endif()

add_executable(test_faults
  "${CMAKE_CURRENT_LIST_DIR}/test_faults.c"
  "${CMAKE_CURRENT_LIST_DIR}/../support/errcheck.c"
  "${CMAKE_CURRENT_LIST_DIR}/../support/numcheck.c"
  "${CMAKE_CURRENT_LIST_DIR}/../support/proc.c"
  "${CMAKE_CURRENT_LIST_DIR}/../support/isa_guard.c"
  $<TARGET_OBJECTS:focal_objects>)
target_include_directories(test_faults PRIVATE
  "${PROJECT_SOURCE_DIR}/include"
  "${CMAKE_CURRENT_LIST_DIR}/../support")
target_compile_options(test_faults PRIVATE ${FOCAL_WARNINGS})
target_link_options(test_faults PRIVATE
  "LINKER:--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=pthread_create")
target_link_libraries(test_faults PRIVATE PkgConfig::CMOCKA PkgConfig::OPENBLAS Threads::Threads m)

add_test(NAME fault_injection COMMAND test_faults)
set_tests_properties(fault_injection PROPERTIES LABELS "faults;default" TIMEOUT 600)
foreach(_table IN LISTS FOCAL_TEST_TABLES)
  add_test(NAME fault_injection_${_table} COMMAND test_faults)
  set_tests_properties(fault_injection_${_table} PROPERTIES
    ENVIRONMENT "FOCAL_MAX_ISA=${_table};FOCAL_REQUIRE_ISA=${_table}" LABELS "faults;${_table}" TIMEOUT 600
    SKIP_RETURN_CODE 77)
endforeach()

# A real limit at the pool's thread start (no wrapper): RLIMIT_AS too low
# for a thread's stack in a child process; calls asking for four threads
# run on the caller with the one-thread bits. Skipped (77) under the
# sanitizers and valgrind. The executable is not named test_*: the
# valgrind stage of .ci/sanitizers.sh, which runs every test_* cmocka
# program, would count its skip as a failure.
add_executable(thread_limits "${CMAKE_CURRENT_LIST_DIR}/test_thread_limits.c")
target_link_libraries(thread_limits PRIVATE focal_test_support Threads::Threads m)
target_compile_options(thread_limits PRIVATE ${FOCAL_WARNINGS})
add_test(NAME thread_limits COMMAND thread_limits)
set_tests_properties(thread_limits PROPERTIES LABELS "faults;pool" TIMEOUT 300 SKIP_RETURN_CODE 77)
