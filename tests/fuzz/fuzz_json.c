/*
 * fuzz_json.c - the POST body path: server/params.c turns a JSON object into
 * gp_request_set calls. Errors must carry an HTTP status and render as a
 * JSON error body; accepted bodies must finish into well-formed requests.
 */
#include "fuzz_util.h"
#include "params.h"

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const gd_error *e)
{
    FZ_CHECK(e->status >= 400 && e->status <= 599);
    char *text = gd_error_json(e);
    FZ_CHECK(text != NULL);
    json_t *doc = json_loads(text, 0, NULL);
    FZ_CHECK(json_is_object(json_object_get(doc, "error")));
    json_decref(doc);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gp_request r;
    gd_error e = {0};
    if (size > FZ_MAX_INPUT)
        size = FZ_MAX_INPUT;
    gp_request_init(&r);
    if (gd_params_json(&r, (const char *)data, size, &e) != 0) {
        check_error(&e);
        return 0;
    }
    FZ_CHECK(e.status == 0);
    if (!r.seed_set)
        gp_request_set_seed(&r, 7);
    gp_limits lim = {UINT64_C(1) << 32, 0, 0};
    gp_error err = {0};
    if (gp_request_finish(&r, &lim, &err) != GP_OK) {
        gd_fail_gp(&e, &err);
        check_error(&e);
        return 0;
    }
    fz_check_finished(&r, &lim);
    return 0;
}
