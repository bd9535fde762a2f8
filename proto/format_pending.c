/* Placeholder until the formats encoders land (issue: formats); replaced by format_*.c. */
#include "body_internal.h"

static gp_code not_yet(gp_body *b, gp_error *err)
{
    return gp_fail(err, GP_EUNSUPPORTED, "format", "format=%s is not available in this build",
                   gp_format_name(b->format));
}

gp_code gpi_npy_header(gp_body *b, gp_error *err)
{
    return not_yet(b, err);
}

gp_code gpi_safetensors_header(gp_body *b, gp_error *err)
{
    return not_yet(b, err);
}

gp_code gpi_json_init(gp_body *b, gp_error *err)
{
    return not_yet(b, err);
}

size_t gpi_json_read(gp_body *b, uint64_t offset, void *buf, size_t len)
{
    (void)b;
    (void)offset;
    (void)buf;
    (void)len;
    return 0;
}

gp_code gp_format_negotiate(const char *accept, gp_format *out, gp_error *err)
{
    (void)accept;
    (void)err;
    *out = GP_FORMAT_RAW;
    return GP_OK;
}

size_t gp_filename(const gp_request *r, char *out, size_t size)
{
    (void)r;
    if (size > 0)
        out[0] = '\0';
    return 0;
}
