/* Status names and the per-thread detail message of the last failure. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* One list, so that codes and messages cannot drift apart. */
#define FOCAL_STATUS_LIST(X)                                               \
    X(FOCAL_OK, "success")                                                 \
    X(FOCAL_ERROR_NULL_POINTER, "a required pointer is NULL")              \
    X(FOCAL_ERROR_INVALID_SHAPE, "invalid shape")                          \
    X(FOCAL_ERROR_INVALID_PARAMETER, "invalid parameter")                  \
    X(FOCAL_ERROR_INVALID_TARGET, "invalid target")                        \
    X(FOCAL_ERROR_INVALID_WEIGHT, "invalid weight")                        \
    X(FOCAL_ERROR_INCOMPATIBLE, "incompatible settings")                   \
    X(FOCAL_ERROR_OUT_OF_MEMORY, "out of memory")                          \
    X(FOCAL_ERROR_INTERNAL, "internal error")

const char *focal_status_string(focal_status s)
{
    switch ((int)s) {
#define FOCAL_STATUS_CASE(code, text) case code: return text;
        FOCAL_STATUS_LIST(FOCAL_STATUS_CASE)
#undef FOCAL_STATUS_CASE
    default:
        return "unknown status";
    }
}

static _Thread_local char focal_detail[512];

const char *focal_last_error(void) { return focal_detail; }

focal_status focal_fail(focal_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(focal_detail, sizeof focal_detail, fmt, ap);
    va_end(ap);
    return s;
}
