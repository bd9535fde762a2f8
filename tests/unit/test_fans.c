/*
 * test_fans.c - gp_fans under the three conventions and gp_limit.
 *
 * Expected fans and limit bit patterns were computed independently with
 * Python (math.prod over the convention's axes; gain * math.sqrt(6.0 /
 * float(fan_in + fan_out)) packed with struct '<d').
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "glorot_proto.h"

#define U64_MAX 18446744073709551615ULL
#define P2(k) (1ULL << (k))

static uint64_t bits_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static int printable(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s < 0x20 || *s > 0x7e)
            return 0;
    return 1;
}

/* ---- fans ------------------------------------------------------------------- */

typedef struct {
    char label[40];
    size_t rank;
    uint64_t shape[GP_MAX_RANK + 1];
    gp_fan fan;
    gp_code code;
    uint64_t fan_in, fan_out;
} fan_case;

ParameterizedTestParameters(fans, table)
{
    static fan_case cases[] = {
        /* rank 2: torch and mlx agree, keras transposes */
        {"dense mlx", 2, {3, 5}, GP_FAN_MLX, GP_OK, 5, 3},
        {"dense torch", 2, {3, 5}, GP_FAN_TORCH, GP_OK, 5, 3},
        {"dense keras", 2, {3, 5}, GP_FAN_KERAS, GP_OK, 3, 5},
        {"1x1 mlx", 2, {1, 1}, GP_FAN_MLX, GP_OK, 1, 1},
        /* conv2d weights (out, in, kh, kw): all three conventions differ */
        {"conv2d mlx", 4, {64, 3, 7, 7}, GP_FAN_MLX, GP_OK, 147, 1344},
        {"conv2d torch", 4, {64, 3, 7, 7}, GP_FAN_TORCH, GP_OK, 147, 3136},
        {"conv2d keras", 4, {64, 3, 7, 7}, GP_FAN_KERAS, GP_OK, 1344, 1344},
        /* conv1d */
        {"conv1d mlx", 3, {16, 8, 3}, GP_FAN_MLX, GP_OK, 24, 128},
        {"conv1d torch", 3, {16, 8, 3}, GP_FAN_TORCH, GP_OK, 24, 48},
        {"conv1d keras", 3, {16, 8, 3}, GP_FAN_KERAS, GP_OK, 128, 48},
        /* rank 8 */
        {"rank8 mlx", 8, {2, 3, 4, 5, 6, 7, 8, 9}, GP_FAN_MLX, GP_OK, 181440, 40320},
        {"rank8 torch", 8, {2, 3, 4, 5, 6, 7, 8, 9}, GP_FAN_TORCH, GP_OK, 181440, 120960},
        {"rank8 keras", 8, {2, 3, 4, 5, 6, 7, 8, 9}, GP_FAN_KERAS, GP_OK, 40320, 45360},
        /* largest values that still fit */
        {"2^32 square", 2, {P2(32), P2(32)}, GP_FAN_MLX, GP_OK, P2(32), P2(32)},
        {"max dim mlx", 3, {U64_MAX, 1, 1}, GP_FAN_MLX, GP_OK, 1, U64_MAX},
        {"max dim keras", 3, {U64_MAX, 1, 1}, GP_FAN_KERAS, GP_OK, U64_MAX, U64_MAX},
        /* overflow depends on the convention */
        {"2^63x2x1 mlx", 3, {P2(63), 2, 1}, GP_FAN_MLX, GP_EPARAM, 0, 0},
        {"2^63x2x1 torch", 3, {P2(63), 2, 1}, GP_FAN_TORCH, GP_OK, 2, P2(63)},
        {"2^63x2x1 keras", 3, {P2(63), 2, 1}, GP_FAN_KERAS, GP_EPARAM, 0, 0},
        {"rf 2^64 mlx", 4, {1, P2(32), P2(32), 1}, GP_FAN_MLX, GP_EPARAM, 0, 0},
        {"rf 2^64 torch", 4, {1, P2(32), P2(32), 1}, GP_FAN_TORCH, GP_EPARAM, 0, 0},
        {"rank8 2^62 mlx", 8, {4, 1, 1, 1, 1, 1, 1, P2(62)}, GP_FAN_MLX, GP_OK, P2(62), 4},
        {"rank8 2^62 torch", 8, {4, 1, 1, 1, 1, 1, 1, P2(62)}, GP_FAN_TORCH, GP_EPARAM, 0, 0},
        {"rank8 2^62 keras", 8, {4, 1, 1, 1, 1, 1, 1, P2(62)}, GP_FAN_KERAS, GP_EPARAM, 0, 0},
        /* shapes Glorot cannot use */
        {"rank 0", 0, {0}, GP_FAN_MLX, GP_EPARAM, 0, 0},
        {"rank 1", 1, {5}, GP_FAN_TORCH, GP_EPARAM, 0, 0},
        {"rank 9", 9, {1, 1, 1, 1, 1, 1, 1, 1, 1}, GP_FAN_MLX, GP_EPARAM, 0, 0},
        {"zero dim", 2, {3, 0}, GP_FAN_KERAS, GP_EPARAM, 0, 0},
        {"bad convention", 2, {3, 5}, (gp_fan)7, GP_EPARAM, 0, 0},
    };
    return cr_make_param_array(fan_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(fan_case *c, fans, table)
{
    gp_error err = {0};
    uint64_t in = 12345, out = 67890;
    gp_code rc = gp_fans(c->shape, c->rank, c->fan, &in, &out, &err);
    cr_assert_eq(rc, c->code, "%s: code %d, want %d (%s)", c->label, rc, c->code, err.message);
    if (c->code == GP_OK) {
        cr_expect_eq(in, c->fan_in, "%s: fan_in %llu", c->label, (unsigned long long)in);
        cr_expect_eq(out, c->fan_out, "%s: fan_out %llu", c->label, (unsigned long long)out);
        cr_expect_eq(err.code, GP_OK, "%s", c->label);
        return;
    }
    /* A failure leaves the outputs alone and explains itself. */
    cr_expect_eq(in, 12345, "%s", c->label);
    cr_expect_eq(out, 67890, "%s", c->label);
    cr_expect_eq(err.code, c->code, "%s", c->label);
    cr_expect(strcmp(err.param, "shape") == 0 || strcmp(err.param, "fan") == 0, "%s: param %s",
              c->label, err.param);
    cr_expect(strlen(err.message) > 10 && printable(err.message), "%s: %s", c->label, err.message);
}

Test(fans, overflow_message_names_shape)
{
    gp_error err = {0};
    uint64_t shape[] = {1, P2(32), P2(32), 1}, in, out;
    cr_assert_eq(gp_fans(shape, 4, GP_FAN_MLX, &in, &out, &err), GP_EPARAM);
    cr_expect_str_eq(err.param, "shape");
    cr_expect(strstr(err.message, "overflow") != NULL, "%s", err.message);
}

Test(fans, null_error_struct_is_allowed)
{
    uint64_t shape[] = {5}, in, out;
    cr_expect_eq(gp_fans(shape, 1, GP_FAN_MLX, &in, &out, NULL), GP_EPARAM);
}

/* ---- limit ------------------------------------------------------------------ */

typedef struct {
    char label[40];
    double gain;
    uint64_t fan_in, fan_out;
    uint64_t bits; /* expected gp_limit result */
} limit_case;

ParameterizedTestParameters(limit, table)
{
    static limit_case cases[] = {
        {"(3,5) gain 1 = sqrt(0.75)", 1.0, 5, 3, 0x3febb67ae8584caaULL},
        {"(3,5) relu", 0x1.6a09e667f3bcdp+0, 3, 5, 0x3ff3988e1409212fULL},
        {"conv2d mlx", 1.0, 147, 1344, 0x3fb03d59f4e9d841ULL},
        {"conv2d torch tanh", 0x1.aaaaaaaaaaaabp+0, 147, 3136, 0x3fb23d7bd400acfeULL},
        {"conv2d keras selu", 0.75, 1344, 1344, 0x3fa2246d6cfdf9ecULL},
        {"1x1 = sqrt(3)", 1.0, 1, 1, 0x3ffbb67ae8584caaULL},
        {"gain 0", 0.0, 3, 3, 0x0000000000000000ULL},
        /* 2^53+1 + 2 = 2^53+3 is rounded once; converting the two fans
         * separately would give ...caa instead. */
        {"sum above 2^53 rounds once", 1.0, 9007199254740993ULL, 2, 0x3e5bb67ae8584ca9ULL},
        {"sum 2^64-1", 1.0, P2(63), P2(63) - 1, 0x3e03988e1409212eULL},
        {"sum 2^64-1 other split", 1.0, U64_MAX - 1, 1, 0x3e03988e1409212eULL},
    };
    return cr_make_param_array(limit_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(limit_case *c, limit, table)
{
    double got = gp_limit(c->gain, c->fan_in, c->fan_out);
    cr_expect_eq(bits_of(got), c->bits, "%s: got %a (0x%016llx)", c->label, got,
                 (unsigned long long)bits_of(got));
}

Test(limit, sum_overflow_is_not_finite)
{
    cr_expect(isnan(gp_limit(1.0, U64_MAX, 1)));
    cr_expect(isnan(gp_limit(1.0, P2(63), P2(63))));
}

Test(limit, zero_fans_are_not_finite)
{
    cr_expect(!isfinite(gp_limit(1.0, 0, 0)));
}
