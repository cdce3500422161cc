# Cross build for 64-bit Arm (arm64) with Debian's gcc-aarch64-linux-gnu;
# ctest runs the tests under qemu-aarch64. Usage:
#   cmake -S . -B build-aarch64 \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# .ci/cross.sh aarch64 installs the packages and runs the C suites.
set(FOCAL_CROSS_PROCESSOR aarch64)
set(FOCAL_CROSS_TRIPLET aarch64-linux-gnu)
set(FOCAL_CROSS_QEMU qemu-aarch64)
include("${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake")
