/*
 * Linked into every test program: ctest runs each suite once per kernel
 * table, with FOCAL_MAX_ISA capping the library and FOCAL_REQUIRE_ISA
 * naming the table the run is for. Where the library cannot use that table
 * (the CPU lacks it, or the build does not have it), the run says so and
 * exits 77, which ctest reports as skipped, never as passed.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <focal/focal.h>

__attribute__((constructor)) static void isa_guard(void)
{
    const char *want = getenv("FOCAL_REQUIRE_ISA");
    if (want == NULL || *want == '\0')
        return;
    const char *have = focal_isa();
    if (strcmp(have, want) != 0) {
        printf("skipped: the %s table cannot run here (focal_isa() = \"%s\")\n", want, have);
        fflush(stdout);
        exit(77);
    }
    printf("table: %s\n", have);
}
