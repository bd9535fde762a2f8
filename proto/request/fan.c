/*
 * fan.c - fan_in / fan_out under the MLX, PyTorch and Keras (JAX)
 * conventions, and the Glorot-uniform limit computed from them.
 */
#include "glorot_proto.h"
#include "request/request_internal.h"

#include <inttypes.h>
#include <math.h>

int gpi_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b != 0 && a > UINT64_MAX / b)
        return -1;
    *out = a * b;
    return 0;
}

int gpi_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a > UINT64_MAX - b)
        return -1;
    *out = a + b;
    return 0;
}

/* Which axes feed fan_in and fan_out, and the half-open range [rf_lo, rf_hi)
 * of axes whose product is the receptive field. */
typedef struct {
    size_t in_axis, out_axis, rf_lo, rf_hi;
} fan_axes;

static int fan_layout(gp_fan fan, size_t rank, fan_axes *ax)
{
    switch (fan) {
    case GP_FAN_MLX: /* in = shape[-1], out = shape[0], rf = prod(shape[1:-1]) */
        *ax = (fan_axes){rank - 1, 0, 1, rank - 1};
        return 0;
    case GP_FAN_TORCH: /* in = shape[1], out = shape[0], rf = prod(shape[2:]) */
        *ax = (fan_axes){1, 0, 2, rank};
        return 0;
    case GP_FAN_KERAS: /* in = shape[-2], out = shape[-1], rf = prod(shape[:-2]) */
        *ax = (fan_axes){rank - 2, rank - 1, 0, rank - 2};
        return 0;
    }
    return -1;
}

static gp_code check_shape(const uint64_t *shape, size_t rank, gp_error *err)
{
    if (rank < 2 || rank > GP_MAX_RANK)
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: rank %zu is not allowed; fans need 2 to %d dimensions", rank,
                       GP_MAX_RANK);
    for (size_t i = 0; i < rank; i++)
        if (shape[i] == 0)
            return gp_fail(err, GP_EPARAM, "shape",
                           "shape: dimension %zu is 0; every dimension must be >= 1", i + 1);
    return GP_OK;
}

gp_code gp_fans(const uint64_t *shape, size_t rank, gp_fan fan, uint64_t *fan_in, uint64_t *fan_out,
                gp_error *err)
{
    gp_code rc = check_shape(shape, rank, err);
    if (rc != GP_OK)
        return rc;
    fan_axes ax;
    if (fan_layout(fan, rank, &ax) != 0)
        return gp_fail(err, GP_EPARAM, "fan", "fan: unknown convention %d; use mlx, torch or keras",
                       (int)fan);
    uint64_t rf = 1, in, out;
    for (size_t i = ax.rf_lo; i < ax.rf_hi; i++)
        if (gpi_mul_u64(rf, shape[i], &rf) != 0)
            return gp_fail(err, GP_EPARAM, "shape",
                           "shape: receptive field overflows a 64-bit integer");
    if (gpi_mul_u64(shape[ax.in_axis], rf, &in) != 0 ||
        gpi_mul_u64(shape[ax.out_axis], rf, &out) != 0)
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: fan_in or fan_out overflows a 64-bit integer");
    *fan_in = in;
    *fan_out = out;
    return GP_OK;
}

/* The sum is converted to double once, so sums above 2^53 round exactly as
 * Python's float(fan_in + fan_out) does. A sum that does not fit in 64 bits
 * gives NaN, which gp_request_finish rejects as a non-finite limit. */
double gp_limit(double gain, uint64_t fan_in, uint64_t fan_out)
{
    uint64_t sum;
    if (gpi_add_u64(fan_in, fan_out, &sum) != 0)
        return NAN;
    return gain * sqrt(6.0 / (double)sum);
}
