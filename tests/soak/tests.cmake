# The soak (tests/soak/soak.c): random valid and invalid calls across the
# whole API from four threads, with the resident memory sampled once a
# second. ctest runs it for 20 s (label "soak"); tests/soak/soak.sh runs it
# for any duration (docs/reliability.md, "Soak", has the 10-minute figures).
add_executable(soak "${CMAKE_CURRENT_LIST_DIR}/soak.c")
target_link_libraries(soak PRIVATE focal::focal Threads::Threads m)
target_compile_options(soak PRIVATE ${FOCAL_WARNINGS})
add_test(NAME soak_short COMMAND soak --seconds 20 --threads 4)
set_tests_properties(soak_short PROPERTIES LABELS soak TIMEOUT 120 SKIP_RETURN_CODE 77)
# The check of the check: a run that leaks 512 KiB a second must report it
# (skipped in a sanitizer build, where the check is not applied).
add_test(NAME soak_detects_growth COMMAND soak --seconds 12 --threads 2 --leak-kib-per-s 512)
set_tests_properties(soak_detects_growth PROPERTIES LABELS soak TIMEOUT 60
  PASS_REGULAR_EXPRESSION "RSS check: FAILED" SKIP_REGULAR_EXPRESSION "skipped: the memory check")
