# Shared part of the Debian cross toolchain files (aarch64-linux-gnu.cmake,
# s390x-linux-gnu.cmake): included by them after they set
# FOCAL_CROSS_PROCESSOR (CMAKE_SYSTEM_PROCESSOR), FOCAL_CROSS_TRIPLET (the GNU
# triplet, which names Debian's cross compiler and multiarch directories) and
# FOCAL_CROSS_QEMU (the qemu-user program for the architecture).
#
# Needs Debian's cross compiler (gcc-<triplet with dashes>), the target's
# multiarch libraries (libopenblas-dev:<arch>, libcmocka-dev:<arch>) and
# qemu-user: .ci/cross.sh installs them. ctest runs each test program under
# qemu-user with the target's loader and libraries (-L /usr/<triplet>).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${FOCAL_CROSS_PROCESSOR})

set(CMAKE_C_COMPILER ${FOCAL_CROSS_TRIPLET}-gcc)

# Headers and libraries from the target's root and its multiarch directories
# only; programs (pkg-config, python, ...) from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/${FOCAL_CROSS_TRIPLET})
set(CMAKE_LIBRARY_ARCHITECTURE ${FOCAL_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
list(APPEND CMAKE_FIND_ROOT_PATH /)

# pkg-config reads the target's .pc files, never the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${FOCAL_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# The target's library directories go on LD_LIBRARY_PATH, set for the
# emulated program only (-E). Without it the target's loader falls back to
# the build machine's /etc/ld.so.cache, and under Debian 12's qemu 7.2 every
# dynamically linked s390x program then aborts before main ("stack smashing
# detected") and aarch64 programs hang in their first pthread_create.
set(CMAKE_CROSSCOMPILING_EMULATOR ${FOCAL_CROSS_QEMU} -L /usr/${FOCAL_CROSS_TRIPLET}
    -E LD_LIBRARY_PATH=/usr/${FOCAL_CROSS_TRIPLET}/lib:/usr/lib/${FOCAL_CROSS_TRIPLET})
