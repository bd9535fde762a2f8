/*
 * fuzz_accept.c - Accept negotiation (gp_format_negotiate) and the POST
 * Content-Type check (gd_params_is_json) on the same text. NUL ends the
 * value, as for a header libmicrohttpd hands over.
 */
#include "fuzz_util.h"
#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[FZ_MAX_INPUT + 1];
    if (size > FZ_MAX_INPUT)
        size = FZ_MAX_INPUT;
    memcpy(text, data, size);
    text[size] = '\0';
    gp_format f = (gp_format)99;
    gp_error err = {0};
    if (gp_format_negotiate(text, &f, &err) == GP_OK) {
        FZ_CHECK(f == GP_FORMAT_RAW || f == GP_FORMAT_NPY || f == GP_FORMAT_SAFETENSORS ||
                 f == GP_FORMAT_JSON);
        FZ_CHECK(gp_format_content_type(f) != NULL && gp_format_extension(f) != NULL);
    } else {
        FZ_CHECK(strcmp(err.param, "Accept") == 0);
    }
    int json = gd_params_is_json(text);
    FZ_CHECK(json == 0 || json == 1);
    return 0;
}
