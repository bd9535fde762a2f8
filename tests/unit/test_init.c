/*
 * test_init.c - the initializers through the request path: every row of
 * tests/data/mlx_family.tsv and mlx_family2.tsv (tensors MLX itself produced
 * on CPU) rebuilt from its parameters with gp_request_set / finish and
 * gp_gen, bit for bit; the parameters each initializer takes and refuses;
 * the canonical forms and distribution texts; the chacha20 uniform family's
 * promise that (-L, L) gives glorot_uniform's bytes.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glorot_proto.h"
#include "tsv.h"

#define FAMILY_ROWS 72
#define FAMILY2_ROWS 64
#define MAX_ELEMS 96

/* ---- requests from text ------------------------------------------------------ */

static gp_code set(gp_request *r, const char *key, const char *value, gp_error *err)
{
    return gp_request_set(r, key, strlen(key), value, strlen(value), err);
}

static void must_set(gp_request *r, const char *key, const char *value)
{
    gp_error err = {0};
    cr_assert_eq(set(r, key, value, &err), GP_OK, "%s=%s: %s", key, value, err.message);
}

/* Generate r into out (hex words, as the vector files print them). */
static void hex_values(const gp_request *r, char *out, size_t cap)
{
    unsigned char bytes[MAX_ELEMS * 4];
    gp_gen g;
    gp_error err = {0};
    size_t es = gp_dtype_size(r->dtype), used = 0;
    cr_assert_leq(r->numel, MAX_ELEMS);
    cr_assert_eq(gp_gen_init(&g, r, &err), GP_OK, "%s", err.message);
    gp_gen_fill(&g, 0, (size_t)r->numel, bytes);
    out[0] = '\0';
    for (size_t i = 0; i < r->numel; i++) {
        unsigned v = 0;
        for (size_t k = 0; k < es; k++)
            v |= (unsigned)bytes[i * es + k] << (8 * k);
        used += (size_t)snprintf(out + used, cap - used, es == 4 ? "%s%08X" : "%s%04X",
                                 i ? " " : "", v);
    }
}

static void finish(gp_request *r)
{
    gp_error err = {0};
    cr_assert_eq(gp_request_finish(r, NULL, &err), GP_OK, "%s", err.message);
}

/* ---- every row of the two MLX files ------------------------------------------------ */

typedef struct {
    char file[24];
    int row;
} row_case;

static void free_cases(struct criterion_test_params *p)
{
    cr_free(p->params);
}

ParameterizedTestParameters(init_mlx, row)
{
    size_t n = FAMILY_ROWS + FAMILY2_ROWS, k = 0;
    row_case *c = cr_malloc(n * sizeof *c);
    for (int i = 0; i < FAMILY_ROWS; i++, k++)
        c[k] = (row_case){"mlx_family.tsv", i};
    for (int i = 0; i < FAMILY2_ROWS; i++, k++)
        c[k] = (row_case){"mlx_family2.tsv", i};
    return cr_make_param_array(row_case, c, n, free_cases);
}

ParameterizedTest(row_case *c, init_mlx, row)
{
    char line[LINE_MAX_LEN], got[MAX_ELEMS * 9 + 1];
    const char *want = NULL;
    gp_request r;
    gp_request_init(&r);
    const char *key[MLX_ROW_PAIRS], *value[MLX_ROW_PAIRS];
    data_row(c->file, (size_t)c->row, line, sizeof line);
    size_t n = mlx_row_params(c->file, line, key, value, &want);
    for (size_t i = 0; i < n; i++)
        must_set(&r, key[i], value[i]);
    finish(&r);
    hex_values(&r, got, sizeof got);
    cr_expect_str_eq(got, want, "%s row %d", c->file, c->row);
}

Test(init_mlx, row_counts)
{
    cr_expect_eq(data_rows("mlx_family.tsv"), FAMILY_ROWS);
    cr_expect_eq(data_rows("mlx_family2.tsv"), FAMILY2_ROWS);
}

/* ---- what each initializer takes ----------------------------------------------------- */

typedef struct {
    char query[160]; /* k=v&k=v */
    gp_code code;
    char param[16];
    char message[80]; /* a substring */
} bad_case;

static gp_code run_query(const char *query, gp_request *r, gp_error *err)
{
    char copy[160];
    gp_code rc = GP_OK;
    snprintf(copy, sizeof copy, "%s", query);
    gp_request_init(r);
    gp_request_set_seed(r, 7);
    for (char *save = NULL, *kv = strtok_r(copy, "&", &save); kv != NULL && rc == GP_OK;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        cr_assert_not_null(eq);
        *eq = '\0';
        rc = set(r, kv, eq + 1, err);
    }
    return rc == GP_OK ? gp_request_finish(r, NULL, err) : rc;
}

ParameterizedTestParameters(init, bad)
{
    static bad_case cases[] = {
        {"init=xavier&shape=2,2", GP_EPARAM, "init", "is not an initializer"},
        {"init=glorot_uniform&shape=4", GP_EPARAM, "shape", "needs fans"},
        {"init=he_normal&shape=4", GP_EPARAM, "shape", "needs fans"},
        {"init=identity&shape=4", GP_EPARAM, "shape", "exactly 2"},
        {"init=identity&shape=2,2,2", GP_EPARAM, "shape", "exactly 2"},
        {"init=normal&shape=4&std=0", GP_EPARAM, "std", "must be > 0"},
        {"init=normal&shape=4&std=-1", GP_EPARAM, "std", "must be > 0"},
        {"init=truncated_normal&shape=4&a=1&b=1", GP_EPARAM, "a", "must be < b"},
        {"init=truncated_normal&shape=4&a=2&b=-2", GP_EPARAM, "a", "must be < b"},
        {"init=uniform&shape=4&low=1&high=0", GP_EPARAM, "low", "must be <= high"},
        {"init=uniform&shape=4&low=-1e308&high=1e308", GP_EPARAM, "high", "finite"},
        {"init=uniform&shape=4&low=nan", GP_EPARAM, "low", "plain decimal"},
        {"init=uniform&shape=4&high=inf", GP_EPARAM, "high", "plain decimal"},
        {"init=normal&shape=4&mean=1e999", GP_EPARAM, "mean", "too large"},
        {"init=normal&shape=4&std=", GP_EPARAM, "std", "plain decimal"},
        {"init=normal&shape=4&mode=fan_in", GP_EPARAM, "mode", "normal does not take mode"},
        {"init=normal&shape=4&gain=2", GP_EPARAM, "gain", "normal does not take gain"},
        {"init=glorot_normal&shape=4,4&std=2", GP_EPARAM, "std", "it takes gain"},
        {"init=glorot_uniform&shape=4,4&mode=fan_out", GP_EPARAM, "mode", "it takes gain"},
        {"init=he_uniform&shape=4,4&mode=fan", GP_EPARAM, "mode", "fan_in or fan_out"},
        {"init=uniform&shape=4&fan=torch", GP_EPARAM, "fan", "has no fans"},
        {"init=constant&shape=4&fan_in=3", GP_EPARAM, "fan_in", "has no fans"},
        {"init=zeros&shape=4&value=1", GP_EPARAM, "value", "takes no parameters"},
        {"init=identity&shape=4,4&value=2", GP_EPARAM, "value", "identity does not take"},
        {"init=constant&shape=4&value=70000&dtype=float16", GP_EPARAM, "value", "not a finite"},
        {"init=normal&shape=4&std=1e39", GP_EPARAM, "std", "not a finite float32"},
        {"init=uniform&shape=4&high=3.5e38&dtype=bfloat16", GP_EPARAM, "high", "not a finite"},
        {"init=he_normal&shape=4,4&gain=1e39", GP_EPARAM, "gain", "std that is not a finite"},
        {"init=normal&init=uniform&shape=4", GP_EPARAM, "init", "more than once"},
        {"init=normal&shape=4&algorithm=mlx&dtype=float64", GP_EUNSUPPORTED, "dtype", "float64"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_case *c, init, bad)
{
    gp_request r;
    gp_error err = {0};
    gp_code rc = run_query(c->query, &r, &err);
    cr_expect_eq(rc, c->code, "%s: %d %s", c->query, (int)rc, err.message);
    cr_expect_str_eq(err.param, c->param, "%s: %s", c->query, err.message);
    cr_expect(strstr(err.message, c->message) != NULL, "%s: %s", c->query, err.message);
}

/* ---- canonical forms and distributions ------------------------------------------------ */

typedef struct {
    char query[160];
    char canonical[320];
    char dist[96];
} form_case;

ParameterizedTestParameters(init, forms)
{
    static form_case cases[] = {
        {"shape=2,3",
         "algorithm=chacha20&dtype=float32&fan=mlx&fan_in=3&fan_out=2&format=raw&gain=1&"
         "name=weight&seed=7&shape=2,3",
         "uniform; low=-1.0954451150103321; high=1.0954451150103321"},
        {"init=glorot_normal&shape=2,3&gain=relu",
         "algorithm=chacha20&dtype=float32&fan=mlx&fan_in=3&fan_out=2&format=raw&gain=relu&"
         "init=glorot_normal&name=weight&seed=7&shape=2,3",
         "normal; mean=0; std=0.894427190999916"},
        {"init=he_normal&shape=2,3&mode=fan_out&fan=torch",
         "algorithm=chacha20&dtype=float32&fan=torch&fan_in=3&fan_out=2&format=raw&gain=1&"
         "init=he_normal&mode=fan_out&name=weight&seed=7&shape=2,3",
         "normal; mean=0; std=0.7071067811865475"},
        {"init=he_uniform&shape=4,4",
         "algorithm=chacha20&dtype=float32&fan=mlx&fan_in=4&fan_out=4&format=raw&gain=1&"
         "init=he_uniform&mode=fan_in&name=weight&seed=7&shape=4,4",
         "uniform; low=-0.8660254037844386; high=0.8660254037844386"},
        {"init=uniform&shape=5&low=-2e-1&high=0.50",
         "algorithm=chacha20&dtype=float32&format=raw&high=0.5&init=uniform&low=-0.2&name=weight&"
         "seed=7&shape=5",
         "uniform; low=-0.2; high=0.5"},
        {"init=normal&shape=5&std=0.02&dtype=bfloat16",
         "algorithm=chacha20&dtype=bfloat16&format=raw&init=normal&mean=0&name=weight&seed=7&"
         "shape=5&std=0.02",
         "normal; mean=0; std=0.02"},
        {"init=truncated_normal&shape=5&std=0.02&a=-0.04&b=0.04",
         "a=-0.04&algorithm=chacha20&b=0.04&dtype=float32&format=raw&init=truncated_normal&mean=0&"
         "name=weight&seed=7&shape=5&std=0.02",
         "truncated_normal; mean=0; std=0.02; a=-0.04; b=0.04"},
        {"init=constant&shape=5&value=1e-7",
         "algorithm=chacha20&dtype=float32&format=raw&init=constant&name=weight&seed=7&shape=5&"
         "value=1e-07",
         "constant; value=1e-07"},
        {"init=ones&shape=5",
         "algorithm=chacha20&dtype=float32&format=raw&init=ones&name=weight&seed=7&shape=5",
         "constant; value=1"},
        {"init=identity&shape=3,3&algorithm=mlx-seeded&call=2",
         "algorithm=mlx-seeded&call=2&dtype=float32&format=raw&init=identity&name=weight&seed=7&"
         "shape=3,3",
         "identity"},
    };
    return cr_make_param_array(form_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(form_case *c, init, forms)
{
    gp_request r;
    gp_error err = {0};
    char canonical[GP_CANONICAL_MAX], dist[GP_DIST_TEXT_MAX];
    cr_assert_eq(run_query(c->query, &r, &err), GP_OK, "%s: %s", c->query, err.message);
    cr_assert_eq(gp_canonical(&r, canonical, sizeof canonical, &err), GP_OK);
    cr_expect_str_eq(canonical, c->canonical, "%s", c->query);
    gp_dist_text(&r, dist, sizeof dist);
    cr_expect_str_eq(dist, c->dist, "%s", c->query);
    /* the canonical form asks for the same request again */
    gp_request again;
    cr_assert_eq(run_query(canonical, &again, &err), GP_OK, "%s: %s", canonical, err.message);
    char etag1[GP_ETAG_MAX], etag2[GP_ETAG_MAX];
    cr_assert_eq(gp_etag(&r, NULL, etag1, &err), GP_OK);
    cr_assert_eq(gp_etag(&again, NULL, etag2, &err), GP_OK);
    cr_expect_str_eq(etag1, etag2, "%s", canonical);
}

/* ---- chacha20: the uniform family shares glorot_uniform's words ------------------------ */

typedef struct {
    char same_as_glorot[120]; /* a request whose bytes equal glorot_uniform's below */
    char glorot[120];
} uniform_case;

ParameterizedTestParameters(init, chacha_uniform_is_glorot)
{
    static uniform_case cases[] = {
        /* he_uniform, fan_in 4: limit sqrt(3.0/4) = sqrt(6.0/8), glorot's on 4x4 */
        {"init=he_uniform&shape=4,4", "shape=4,4"},
        {"init=uniform&shape=16&low=-0.25&high=0.25", "shape=16,16&gain=1"},
        {"init=uniform&shape=16&low=-0.25&high=0.25&dtype=float16", "shape=16,16&dtype=float16"},
        {"init=uniform&shape=16&low=-0.25&high=0.25&dtype=float64", "shape=16,16&dtype=float64"},
    };
    return cr_make_param_array(uniform_case, cases, sizeof cases / sizeof cases[0]);
}

static size_t raw_bytes(const gp_request *r, unsigned char *out, size_t count)
{
    gp_gen g;
    gp_error err = {0};
    cr_assert_eq(gp_gen_init(&g, r, &err), GP_OK, "%s", err.message);
    gp_gen_fill(&g, 0, count, out);
    return count * gp_dtype_size(r->dtype);
}

ParameterizedTest(uniform_case *c, init, chacha_uniform_is_glorot)
{
    gp_request a, b;
    gp_error err = {0};
    unsigned char x[16 * 8], y[16 * 8];
    cr_assert_eq(run_query(c->same_as_glorot, &a, &err), GP_OK, "%s", err.message);
    cr_assert_eq(run_query(c->glorot, &b, &err), GP_OK, "%s", err.message);
    if (a.init == GP_INIT_UNIFORM)
        b.limit = 0.25; /* the same limit through glorot_uniform's generator */
    cr_assert_eq(a.dist_high, b.limit, "%s: limits %g, %g", c->same_as_glorot, a.dist_high,
                 b.limit);
    size_t n = raw_bytes(&a, x, 16);
    cr_assert_eq(raw_bytes(&b, y, 16), n);
    cr_expect_arr_eq(x, y, n, "%s", c->same_as_glorot);
}

/* uniform(low, high) away from 0: inside [low, high], both ends reached in float32. */
Test(init, chacha_uniform_offset)
{
    gp_request r;
    gp_error err = {0};
    enum { N = 4096 };
    static unsigned char out[N * 4];
    cr_assert_eq(run_query("init=uniform&shape=4096&low=2&high=3.5", &r, &err), GP_OK);
    raw_bytes(&r, out, N);
    float lo = 4, hi = 0;
    for (size_t i = 0; i < N; i++) {
        float v;
        memcpy(&v, out + 4 * i, 4);
        cr_assert(v >= 2.0f && v <= 3.5f, "element %zu = %a", i, (double)v);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    cr_expect(lo < 2.01f && hi > 3.49f, "spread %g..%g", (double)lo, (double)hi);
}
