# Cross build for IBM Z (s390x, big-endian) with Debian's
# gcc-s390x-linux-gnu; ctest runs the tests under qemu-s390x. Usage:
#   cmake -S . -B build-s390x \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/s390x-linux-gnu.cmake
# .ci/cross.sh s390x installs the packages and runs the C suites.
set(FOCAL_CROSS_PROCESSOR s390x)
set(FOCAL_CROSS_TRIPLET s390x-linux-gnu)
set(FOCAL_CROSS_QEMU qemu-s390x)
include("${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake")
