# The vector math of the AVX2 kernels, compiled with the kernels' flags and
# skipped on CPUs without them.
if(FOCAL_AVX2_KERNELS)
  add_executable(test_simd_math "${CMAKE_CURRENT_LIST_DIR}/test_simd_math.c")
  target_include_directories(test_simd_math PRIVATE "${PROJECT_SOURCE_DIR}/src")
  target_compile_options(test_simd_math PRIVATE -mavx2 -mfma ${FOCAL_WARNINGS})
  target_link_libraries(test_simd_math PRIVATE m)
  add_test(NAME test_simd_math COMMAND test_simd_math)
  set_tests_properties(test_simd_math PROPERTIES SKIP_RETURN_CODE 77)
endif()
