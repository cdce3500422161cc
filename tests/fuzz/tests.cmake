# The fuzz targets (tests/fuzz/README.md).
#
# Always: a replay driver per target, built with the project's compiler and
# linked with the library, that runs the committed seed corpus
# tests/fuzz/corpus/<target>/ as the ctest tests fuzz_replay_<target> (the
# table the library picks) and fuzz_replay_<target>_<table> per table.
#
# With clang and -DFOCAL_FUZZ=ON: also the libFuzzer binaries
# <target>_fuzzer, linked with a copy of the library compiled with the same
# sanitizers (the library's own objects are not instrumented). .ci/fuzz.sh
# builds and runs them.
option(FOCAL_FUZZ "Build the libFuzzer targets (clang only)" OFF)

set(FOCAL_FUZZ_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(FOCAL_FUZZ_TARGETS fuzz_compute fuzz_small fuzz_settings fuzz_half)

add_library(focal_fuzz_replay_main OBJECT "${FOCAL_FUZZ_DIR}/replay_main.c")
target_compile_options(focal_fuzz_replay_main PRIVATE ${FOCAL_WARNINGS})

# fuzz_small (fuzz_compute limited to small calls on one thread) shares
# fuzz_compute's input format and seed corpus.
set(FOCAL_FUZZ_CORPUS_fuzz_small fuzz_compute)

foreach(_target IN LISTS FOCAL_FUZZ_TARGETS)
  set(_corpus "${FOCAL_FUZZ_DIR}/corpus/${_target}")
  if(DEFINED FOCAL_FUZZ_CORPUS_${_target})
    set(_corpus "${FOCAL_FUZZ_DIR}/corpus/${FOCAL_FUZZ_CORPUS_${_target}}")
  endif()
  add_executable(${_target}_replay "${FOCAL_FUZZ_DIR}/${_target}.c" $<TARGET_OBJECTS:focal_fuzz_replay_main>
    "${FOCAL_FUZZ_DIR}/../support/isa_guard.c" "${FOCAL_FUZZ_DIR}/../support/half.c")
  target_include_directories(${_target}_replay PRIVATE "${FOCAL_FUZZ_DIR}/../support")
  target_link_libraries(${_target}_replay PRIVATE focal::focal m)
  target_compile_options(${_target}_replay PRIVATE ${FOCAL_WARNINGS})
  add_test(NAME fuzz_replay_${_target}
    COMMAND ${_target}_replay "${_corpus}")
  set_tests_properties(fuzz_replay_${_target} PROPERTIES LABELS "fuzz" TIMEOUT 300)
  foreach(_table IN LISTS FOCAL_TEST_TABLES)
    add_test(NAME fuzz_replay_${_target}_${_table}
      COMMAND ${_target}_replay "${_corpus}")
    set_tests_properties(fuzz_replay_${_target}_${_table} PROPERTIES
      LABELS "fuzz;${_table}" TIMEOUT 300 SKIP_RETURN_CODE 77
      ENVIRONMENT "FOCAL_MAX_ISA=${_table};FOCAL_REQUIRE_ISA=${_table}")
  endforeach()
endforeach()

# fuzz_diff switches kernel tables within one process (focal_isa_override),
# so its replay is linked with the library's objects, not the shared
# library; it compares the tables itself, so it is registered once.
add_executable(fuzz_diff_replay "${FOCAL_FUZZ_DIR}/fuzz_diff.c" $<TARGET_OBJECTS:focal_fuzz_replay_main>
  $<TARGET_OBJECTS:focal_objects>)
target_include_directories(fuzz_diff_replay PRIVATE "${FOCAL_FUZZ_DIR}/../support" "${PROJECT_SOURCE_DIR}/include"
  "${PROJECT_SOURCE_DIR}/src")
target_link_libraries(fuzz_diff_replay PRIVATE PkgConfig::OPENBLAS Threads::Threads m)
target_compile_options(fuzz_diff_replay PRIVATE ${FOCAL_WARNINGS})
add_test(NAME fuzz_replay_fuzz_diff COMMAND fuzz_diff_replay "${FOCAL_FUZZ_DIR}/corpus/fuzz_diff")
set_tests_properties(fuzz_replay_fuzz_diff PROPERTIES LABELS "fuzz" TIMEOUT 300)

if(FOCAL_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FOCAL_FUZZ=ON needs clang (CC=clang); the C compiler is ${CMAKE_C_COMPILER_ID}")
  endif()
  set(FOCAL_FUZZ_SANITIZE -fsanitize=address,undefined -fno-sanitize-recover=undefined
                          -fno-omit-frame-pointer -g)

  # The library's sources, instrumented for coverage and the sanitizers,
  # with the same per-file flags and definitions as src/CMakeLists.txt.
  add_library(focal_fuzz_lib STATIC ${FOCAL_LIB_SOURCES})
  target_include_directories(focal_fuzz_lib
    PUBLIC "${PROJECT_SOURCE_DIR}/include"
    PRIVATE "${PROJECT_SOURCE_DIR}/src")
  target_compile_definitions(focal_fuzz_lib
    PUBLIC FOCAL_STATIC_DEFINE
    PRIVATE FOCAL_BUILDING_LIBRARY ${FOCAL_ISA_DEFINITIONS} FOCAL_NO_FORCE_INLINE)
  # Edge coverage only: comparison tracing in the per-element loops would
  # cost more than it guides.
  target_compile_options(focal_fuzz_lib PRIVATE ${FOCAL_FUZZ_SANITIZE} -fsanitize=fuzzer-no-link
                                                -fno-sanitize-coverage=trace-cmp)
  focal_apply_isa_flags(focal_fuzz_lib)
  target_link_libraries(focal_fuzz_lib PUBLIC PkgConfig::OPENBLAS Threads::Threads m)

  foreach(_target IN LISTS FOCAL_FUZZ_TARGETS)
    add_executable(${_target}_fuzzer "${FOCAL_FUZZ_DIR}/${_target}.c" "${FOCAL_FUZZ_DIR}/../support/half.c")
    target_include_directories(${_target}_fuzzer PRIVATE "${FOCAL_FUZZ_DIR}/../support")
    target_compile_options(${_target}_fuzzer PRIVATE ${FOCAL_WARNINGS} ${FOCAL_FUZZ_SANITIZE} -fsanitize=fuzzer)
    target_link_options(${_target}_fuzzer PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${_target}_fuzzer PRIVATE focal_fuzz_lib)
  endforeach()
  # fuzz_diff_small is fuzz_diff without the large calls (its corpus is
  # fuzz_diff's, which fuzz_replay_fuzz_diff replays).
  foreach(_target IN ITEMS fuzz_diff fuzz_diff_small)
    add_executable(${_target}_fuzzer "${FOCAL_FUZZ_DIR}/${_target}.c")
    target_include_directories(${_target}_fuzzer PRIVATE "${FOCAL_FUZZ_DIR}/../support" "${PROJECT_SOURCE_DIR}/src")
    target_compile_options(${_target}_fuzzer PRIVATE ${FOCAL_WARNINGS} ${FOCAL_FUZZ_SANITIZE} -fsanitize=fuzzer)
    target_link_options(${_target}_fuzzer PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${_target}_fuzzer PRIVATE focal_fuzz_lib)
  endforeach()
endif()
