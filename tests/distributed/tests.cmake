# Data-parallel training (docs/distributed.md).
#
# ddp_detection: PyTorch DDP (gloo, CPU, 2 processes) training a detection
# head through libfocal, loaded with ctypes from the build tree, against
# single-process training. Labelled ffi, as the other tests that load the
# library into Python: the sanitizer stages leave them out (an
# instrumented libfocal.so cannot be loaded into an uninstrumented
# interpreter), and so does the clang stage of .ci/test. Debian's
# /usr/bin/python3 is preferred: it is the one with python3-torch. Without
# torch the test reports skipped, never passed.
if(TARGET focal)
  find_program(FOCAL_DISTRIBUTED_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH
               DOC "Interpreter for the PyTorch DDP test: needs torch with torch.distributed (gloo)")
  find_program(FOCAL_DISTRIBUTED_PYTHON NAMES python3
               DOC "Interpreter for the PyTorch DDP test: needs torch with torch.distributed (gloo)")
  if(FOCAL_DISTRIBUTED_PYTHON)
    add_test(NAME ddp_detection
             COMMAND "${FOCAL_DISTRIBUTED_PYTHON}" "${CMAKE_CURRENT_LIST_DIR}/ddp_detection.py"
                     $<TARGET_FILE:focal>)
  else()
    add_test(NAME ddp_detection
             COMMAND sh -c "echo 'SKIP: no python3 found (Debian: apt-get install python3-torch)'; exit 77")
  endif()
  set_tests_properties(ddp_detection PROPERTIES
    LABELS "ffi;distributed;torch" SKIP_RETURN_CODE 77 PROCESSORS 2 TIMEOUT 120
    ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()

# mpi_shards_np2, mpi_shards_np3: docs/examples/mpi_shards.c run on 2 and
# on 3 ranks. The example checks itself:
# rank 0 compares the sum of the ranks' losses and their gathered gradients
# with one single-process call, float64, to 1e-12 relative, prints each
# comparison and the worst difference, and a mismatch is its exit status.
# Without MPI (Debian: libopenmpi-dev, openmpi-bin) both tests report
# skipped, never passed.
include("${PROJECT_SOURCE_DIR}/docs/examples/mpi_shards.cmake")

set(_focal_mpi_ranks 2 3)
if(NOT TARGET focal_example_mpi_shards OR NOT MPIEXEC_EXECUTABLE)
  if(NOT TARGET focal_example_mpi_shards)
    set(_focal_mpi_missing "the C bindings of MPI were not found (Debian: apt-get install libopenmpi-dev openmpi-bin)")
  else()
    set(_focal_mpi_missing "no MPI launcher (mpiexec) was found (Debian: apt-get install openmpi-bin)")
  endif()
  foreach(_np IN LISTS _focal_mpi_ranks)
    add_test(NAME mpi_shards_np${_np}
      COMMAND sh -c "echo \"SKIP: $1\"; exit 77" skip "${_focal_mpi_missing}")
    set_tests_properties(mpi_shards_np${_np} PROPERTIES LABELS "mpi;distributed" SKIP_RETURN_CODE 77)
  endforeach()
  return()
endif()

# Open MPI's launcher refuses root (CI runs as root in a container) and more
# ranks than cores unless told, and would probe every network interface
# and device: the ranks here are on one host and talk through shared
# memory (vader) only, with single-copy transfers off (they need ptrace
# rights that containers often withhold), the launcher's own channel on
# the loopback interface, and no rank bound to a core. Other MPIs get
# their launcher's defaults.
set(_focal_mpiexec_flags "")
execute_process(COMMAND "${MPIEXEC_EXECUTABLE}" --version
  OUTPUT_VARIABLE _focal_mpiexec_version ERROR_QUIET TIMEOUT 20)
if(_focal_mpiexec_version MATCHES "Open MPI|OpenRTE")
  set(_focal_mpiexec_flags
    --allow-run-as-root --oversubscribe --bind-to none
    --mca btl self,vader --mca pml ob1 --mca btl_vader_single_copy_mechanism none
    --mca oob_tcp_if_include lo)
endif()

foreach(_np IN LISTS _focal_mpi_ranks)
  add_test(NAME mpi_shards_np${_np}
    COMMAND "${MPIEXEC_EXECUTABLE}" ${MPIEXEC_NUMPROC_FLAG} ${_np} ${_focal_mpiexec_flags} ${MPIEXEC_PREFLAGS}
            $<TARGET_FILE:focal_example_mpi_shards> ${MPIEXEC_POSTFLAGS})
  # Open MPI leaves its own allocations (hwloc, its plugins) live at exit,
  # which LeakSanitizer would report in the sanitizer stage: leak checking
  # is off for these runs (.ci/sanitizers.sh sets ASAN_OPTIONS; the later
  # option wins), memory errors are still checked.
  set_tests_properties(mpi_shards_np${_np} PROPERTIES
    LABELS "mpi;distributed" PROCESSORS ${_np} TIMEOUT 120
    ENVIRONMENT_MODIFICATION "ASAN_OPTIONS=string_append::detect_leaks=0")
endforeach()
