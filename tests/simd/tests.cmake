# The vector vocabulary and its math (src/simd/vec_<isa>.h), one program
# per instruction set: test_vec_math_scalar everywhere, test_vec_math_avx2
# and test_vec_math_avx512 on x86-64 with GCC or Clang, each compiled with
# its set's flags and skipped (exit 77) on CPUs without them. isa_guard.c,
# the check that skips, is compiled without those flags.
# The instruction sets and their flags are the library's (src/CMakeLists.txt).
set(_vec_isas scalar ${FOCAL_ISAS})

foreach(_isa IN LISTS _vec_isas)
  string(TOUPPER "${_isa}" _ISA)
  add_library(test_vec_math_guard_${_isa} OBJECT "${CMAKE_CURRENT_LIST_DIR}/isa_guard.c")
  target_compile_definitions(test_vec_math_guard_${_isa} PRIVATE VEC_GUARD_${_ISA})
  target_compile_options(test_vec_math_guard_${_isa} PRIVATE ${FOCAL_WARNINGS})

  add_executable(test_vec_math_${_isa} "${CMAKE_CURRENT_LIST_DIR}/test_vec_math.c"
    "${CMAKE_CURRENT_LIST_DIR}/../support/proc.c" $<TARGET_OBJECTS:test_vec_math_guard_${_isa}>)
  target_include_directories(test_vec_math_${_isa} PRIVATE "${PROJECT_SOURCE_DIR}/src" "${CMAKE_CURRENT_LIST_DIR}/../support")
  target_compile_definitions(test_vec_math_${_isa} PRIVATE VEC_HEADER="simd/vec_${_isa}.h")
  target_compile_options(test_vec_math_${_isa} PRIVATE ${FOCAL_ISA_FLAGS_${_isa}} ${FOCAL_WARNINGS})
  # GCC's AddressSanitizer places a frame's locals 32-byte aligned in its
  # fake stack (detect_stack_use_after_return=1) while the code assumes the
  # 64-byte alignment it gave them, and its aligned 512-bit loads of them
  # fault there. This program's locals are only ever lane buffers, so the
  # fake stack is left out of it, not the library.
  if(CMAKE_C_COMPILER_ID STREQUAL "GNU" AND CMAKE_C_FLAGS MATCHES "sanitize=[a-z,]*address")
    target_compile_options(test_vec_math_${_isa} PRIVATE --param=asan-use-after-return=0)
  endif()
  target_link_libraries(test_vec_math_${_isa} PRIVATE m)
  add_test(NAME test_vec_math_${_isa} COMMAND test_vec_math_${_isa})
  set_tests_properties(test_vec_math_${_isa} PROPERTIES SKIP_RETURN_CODE 77 LABELS simd)
endforeach()
