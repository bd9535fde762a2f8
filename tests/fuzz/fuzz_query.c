/*
 * fuzz_query.c - the query-string path: split like libmicrohttpd, each pair
 * through gp_request_set, gp_request_finish, then the checks of
 * fz_check_finished (canonical round trip, ETag, body bytes).
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gp_request r;
    if (size > FZ_MAX_INPUT)
        size = FZ_MAX_INPUT;
    gp_request_init(&r);
    if (fz_query_each((const char *)data, size, fz_set_pair, &r) != 0)
        return 0;
    if (!r.seed_set)
        gp_request_set_seed(&r, 42);
    gp_limits lim = {UINT64_C(1) << 32, 0, 0};
    gp_error err = {0};
    if (gp_request_finish(&r, &lim, &err) != GP_OK) {
        FZ_CHECK(err.message[0] != '\0');
        return 0;
    }
    FZ_CHECK(r.out_numel <= r.numel && r.out_numel <= lim.max_elements);
    fz_check_finished(&r, &lim);
    return 0;
}
