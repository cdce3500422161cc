/* The version of the loaded library, for run-time checks against the header. */
#include "internal.h"

#if FOCAL_VERSION_NUMBER != (FOCAL_VERSION_MAJOR * 10000 + FOCAL_VERSION_MINOR * 100 + FOCAL_VERSION_PATCH)
#  error "FOCAL_VERSION_NUMBER disagrees with its parts"
#endif

#define FOCAL_STR2(x) #x
#define FOCAL_STR(x) FOCAL_STR2(x)
_Static_assert(sizeof(FOCAL_VERSION_STRING) ==
                   sizeof(FOCAL_STR(FOCAL_VERSION_MAJOR) "." FOCAL_STR(FOCAL_VERSION_MINOR) "." FOCAL_STR(FOCAL_VERSION_PATCH)),
               "FOCAL_VERSION_STRING disagrees with its parts");

unsigned focal_version_number(void) { return FOCAL_VERSION_NUMBER; }

const char *focal_version_string(void)
{
    return FOCAL_STR(FOCAL_VERSION_MAJOR) "." FOCAL_STR(FOCAL_VERSION_MINOR) "." FOCAL_STR(FOCAL_VERSION_PATCH);
}
