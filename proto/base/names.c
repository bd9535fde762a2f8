#include "glorot_proto.h"

const char *gp_dtype_name(gp_dtype d)
{
    switch (d) {
    case GP_FLOAT32:
        return "float32";
    case GP_FLOAT16:
        return "float16";
    case GP_BFLOAT16:
        return "bfloat16";
    case GP_FLOAT64:
        return "float64";
    }
    return "float32";
}

size_t gp_dtype_size(gp_dtype d)
{
    switch (d) {
    case GP_FLOAT16:
    case GP_BFLOAT16:
        return 2;
    case GP_FLOAT64:
        return 8;
    case GP_FLOAT32:
        break;
    }
    return 4;
}

const char *gp_algorithm_name(gp_algorithm a)
{
    switch (a) {
    case GP_ALG_MLX:
        return "mlx";
    case GP_ALG_MLX_SEEDED:
        return "mlx-seeded";
    case GP_ALG_CHACHA20:
        break;
    }
    return "chacha20";
}

const char *gp_fan_name(gp_fan f)
{
    switch (f) {
    case GP_FAN_TORCH:
        return "torch";
    case GP_FAN_KERAS:
        return "keras";
    case GP_FAN_MLX:
        break;
    }
    return "mlx";
}

const char *gp_format_name(gp_format f)
{
    switch (f) {
    case GP_FORMAT_NPY:
        return "npy";
    case GP_FORMAT_SAFETENSORS:
        return "safetensors";
    case GP_FORMAT_JSON:
        return "json";
    case GP_FORMAT_RAW:
        break;
    }
    return "raw";
}

const char *gp_format_content_type(gp_format f)
{
    switch (f) {
    case GP_FORMAT_NPY:
        return "application/x-npy";
    case GP_FORMAT_SAFETENSORS:
        return "application/vnd.safetensors";
    case GP_FORMAT_JSON:
        return "application/json";
    case GP_FORMAT_RAW:
        break;
    }
    return "application/octet-stream";
}

const char *gp_format_extension(gp_format f)
{
    switch (f) {
    case GP_FORMAT_NPY:
        return ".npy";
    case GP_FORMAT_SAFETENSORS:
        return ".safetensors";
    case GP_FORMAT_JSON:
        return ".json";
    case GP_FORMAT_RAW:
        break;
    }
    return ".bin";
}

const char *gp_dist_name(gp_dist d)
{
    switch (d) {
    case GP_DIST_NORMAL:
        return "normal";
    case GP_DIST_TRUNCATED_NORMAL:
        return "truncated_normal";
    case GP_DIST_CONSTANT:
        return "constant";
    case GP_DIST_IDENTITY:
        return "identity";
    case GP_DIST_UNIFORM:
        break;
    }
    return "uniform";
}

const char *gp_mode_name(gp_mode m)
{
    return m == GP_MODE_FAN_OUT ? "fan_out" : "fan_in";
}
