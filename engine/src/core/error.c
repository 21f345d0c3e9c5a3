/* error.c -- the thread-local "last error" message behind nvp_last_error(). */
#include "internal.h"

#include <stdarg.h>

static _Thread_local char last_error[1024];

nvp_status nvp_fail(nvp_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

const char *nvp_last_error(void) { return last_error; }

void nvp_clear_error(void) { last_error[0] = '\0'; }
