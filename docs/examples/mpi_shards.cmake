# The MPI example, docs/examples/mpi_shards.c (docs/distributed.md), built
# where CMake finds MPI's C bindings (Debian: libopenmpi-dev). Both
# docs/examples/CMakeLists.txt and tests/distributed/tests.cmake, which runs
# it, include this file; the first to do so defines the target.
if(TARGET focal_example_mpi_shards)
  return()
endif()
find_package(MPI COMPONENTS C QUIET)
if(NOT MPI_C_FOUND)
  return()
endif()
add_executable(focal_example_mpi_shards "${CMAKE_CURRENT_LIST_DIR}/mpi_shards.c")
target_link_libraries(focal_example_mpi_shards PRIVATE focal::focal MPI::MPI_C m)
target_compile_options(focal_example_mpi_shards PRIVATE ${FOCAL_WARNINGS})
# Next to the other examples, whichever directory defined it.
set_target_properties(focal_example_mpi_shards PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/docs/examples")
