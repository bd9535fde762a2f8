#include "glorot_proto.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int gp_init(void)
{
    /* sodium_init is thread-safe and returns 1 when already initialised. */
    return sodium_init() < 0 ? -1 : 0;
}

const char *gp_strerror(gp_code code)
{
    switch (code) {
    case GP_OK:
        return "success";
    case GP_EPARAM:
        return "invalid parameter";
    case GP_EUNSUPPORTED:
        return "unsupported combination of parameters";
    case GP_ELIMIT:
        return "request exceeds a configured limit";
    case GP_ENOMEM:
        return "out of memory";
    case GP_EINTERNAL:
        return "internal error";
    }
    return "unknown error";
}

const char *gp_code_name(gp_code code)
{
    switch (code) {
    case GP_OK:
        return "ok";
    case GP_EPARAM:
        return "invalid_parameter";
    case GP_EUNSUPPORTED:
        return "unsupported";
    case GP_ELIMIT:
        return "too_large";
    case GP_ENOMEM:
        return "out_of_memory";
    case GP_EINTERNAL:
        return "internal";
    }
    return "internal";
}

gp_code gp_fail(gp_error *err, gp_code code, const char *param, const char *fmt, ...)
{
    if (err == NULL || err->code != GP_OK)
        return code;
    err->code = code;
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}
