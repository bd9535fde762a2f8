/*
 * fuzz_slice.c - slices and shards through gp_request_set: a small random
 * shape from the first bytes, then `slice`, `shard` or `shard` + `axis` (and
 * `split`, `stride`: "SHARD;AXIS|SPLIT|STRIDE") from the rest. Every accepted part must lie inside
 * the shape, and its raw body must equal the whole tensor's elements at the part's positions
 * (computed here from gp_gen_fill of the whole tensor); npy's data must equal raw.
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DIM_MAX 9
#define NUMEL_MAX (DIM_MAX * DIM_MAX * DIM_MAX)

static int set_text(gp_request *r, const char *key, const char *v, size_t n)
{
    gp_error err = {0};
    return gp_request_set(r, key, strlen(key), v, n, &err) == GP_OK ? 0 : -1;
}

/* "AXIS[|SPLIT[|STRIDE]]": the keys after shard, each up to the next '|'. */
static int set_rest(gp_request *r, const char *v, size_t n)
{
    static const char *const keys[] = {"axis", "split", "stride"};
    for (size_t k = 0; k < 3; k++) {
        const char *bar = memchr(v, '|', n);
        size_t len = bar ? (size_t)(bar - v) : n;
        if (set_text(r, keys[k], v, len) != 0)
            return -1;
        if (bar == NULL)
            return 0;
        v = bar + 1;
        n -= len + 1;
    }
    return 0;
}

static int build(gp_request *r, const uint8_t *data, size_t size)
{
    char shape[32];
    size_t rank = data[0] % 3 + 1;
    int n = snprintf(shape, sizeof shape, "%u,%u,%u", data[1] % DIM_MAX + 1u,
                     data[2] % DIM_MAX + 1u, data[3] % DIM_MAX + 1u);
    size_t shape_len = (size_t)n - 2 * (3 - rank); /* each dim is one digit */
    gp_request_init(r);
    gp_request_set_seed(r, data[0]);
    if (set_text(r, "shape", shape, shape_len) != 0)
        return -1;
    if ((data[0] & 8) && set_text(r, "algorithm", "mlx", 3) != 0)
        return -1;
    const char *v = (const char *)data + 5, *semi;
    size_t vn = size - 5;
    switch (data[4] % 3) {
    case 0:
        return set_text(r, "slice", v, vn);
    case 1:
        return set_text(r, "shard", v, vn);
    default:
        semi = memchr(v, ';', vn);
        if (semi == NULL)
            return -1;
        if (set_text(r, "shard", v, (size_t)(semi - v)) != 0)
            return -1;
        return set_rest(r, semi + 1, vn - (size_t)(semi - v) - 1);
    }
}

/* Full-tensor index of part element o. */
static uint64_t full_index(const gp_request *r, uint64_t o)
{
    uint64_t idx = 0, stride = 1;
    for (size_t i = r->rank; i-- > 0;) {
        uint64_t j = o % r->out_shape[i];
        uint64_t c =
            r->part_start[i] + j / r->piece_len[i] * r->piece_step[i] + j % r->piece_len[i];
        o /= r->out_shape[i];
        idx += c * stride;
        stride *= r->shape[i];
    }
    return idx;
}

static void check_bytes(gp_request *r)
{
    static gp_body body;
    static float whole[NUMEL_MAX], part[NUMEL_MAX], npy[NUMEL_MAX];
    gp_error err = {0};
    FZ_CHECK(gp_body_init(&body, r, &err) == GP_OK);
    gp_gen_fill(&body.gen, 0, (size_t)r->numel, whole);
    FZ_CHECK(gp_body_read(&body, 0, part, sizeof part) == r->out_nbytes);
    for (uint64_t o = 0; o < r->out_numel; o++)
        FZ_CHECK(memcmp(&part[o], &whole[full_index(r, o)], sizeof(float)) == 0);
    r->format = GP_FORMAT_NPY;
    FZ_CHECK(gp_body_init(&body, r, &err) == GP_OK);
    FZ_CHECK(gp_body_read(&body, body.data_offset, npy, sizeof npy) == r->out_nbytes);
    FZ_CHECK(memcmp(npy, part, (size_t)r->out_nbytes) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gp_request r;
    if (size < 5)
        return 0;
    if (size > 256)
        size = 256;
    if (build(&r, data, size) != 0)
        return 0;
    gp_error err = {0};
    if (gp_request_finish(&r, NULL, &err) != GP_OK)
        return 0;
    uint64_t numel = 1;
    for (size_t i = 0; i < r.rank; i++) {
        FZ_CHECK(r.part_start[i] <= r.part_stop[i] && r.part_stop[i] <= r.shape[i]);
        FZ_CHECK(r.piece_count[i] >= 1 && r.out_shape[i] == r.piece_count[i] * r.piece_len[i]);
        FZ_CHECK(r.piece_count[i] == 1 ? r.out_shape[i] == r.part_stop[i] - r.part_start[i]
                                       : r.piece_step[i] > r.piece_len[i]);
        numel *= r.out_shape[i];
    }
    FZ_CHECK(numel == r.out_numel && r.out_nbytes == numel * 4);
    FZ_CHECK(r.partial == (numel != r.numel));
    gp_limits lim = {0, 0, 0};
    fz_check_finished(&r, &lim);
    check_bytes(&r);
    return 0;
}
