/*
 * format_common.c - what every format's metadata shares. The text builder
 * the encoders write with is in base/text.c.
 */
#include "format/format_internal.h"

unsigned gpi_algorithm_version(gp_algorithm a)
{
    return a == GP_ALG_CHACHA20 ? GP_CHACHA20_VERSION : GP_MLX_VERSION;
}
