# Table conformance (tests/conformance/test_tables.c): linked with the
# library's objects, as it switches tables within one process. It runs
# every table the CPU can run against the scalar table itself, so it is
# registered once; it exits 77 (skipped) where no vector table can run.
add_executable(test_tables
  "${CMAKE_CURRENT_LIST_DIR}/test_tables.c"
  "${CMAKE_CURRENT_LIST_DIR}/../support/errcheck.c"
  "${CMAKE_CURRENT_LIST_DIR}/../support/numcheck.c"
  $<TARGET_OBJECTS:focal_objects>)
target_include_directories(test_tables PRIVATE
  "${PROJECT_SOURCE_DIR}/include"
  "${PROJECT_SOURCE_DIR}/src"
  "${CMAKE_CURRENT_LIST_DIR}/../support")
target_compile_options(test_tables PRIVATE ${FOCAL_WARNINGS})
target_link_libraries(test_tables PRIVATE PkgConfig::CMOCKA PkgConfig::OPENBLAS Threads::Threads m)
add_test(NAME table_conformance COMMAND test_tables)
set_tests_properties(table_conformance PROPERTIES SKIP_RETURN_CODE 77 LABELS conformance TIMEOUT 600)
