/*
 * info.c - the /v1/info document: what this build serves and its limits.
 */
#include "server.h"

#include <jansson.h>
#include <string.h>

static json_t *algorithms(const gp_request *defaults)
{
    json_t *list = json_array();
    const char *name;
    int alg, alias;
    for (size_t i = 0; list != NULL && (name = gp_name_at(GP_NAMES_ALGORITHM, i, &alg, &alias));
         i++)
        if (!alias)
            json_array_append_new(list, json_pack("{s:s, s:i, s:b}", "name", name, "version",
                                                  gp_algorithm_version((gp_algorithm)alg),
                                                  "default", alg == (int)defaults->algorithm));
    return list;
}

/* The canonical names of an enumeration (gp_name_at), in value order. */
static json_t *names(gp_names_of which)
{
    json_t *list = json_array();
    const char *name;
    int alias;
    for (size_t i = 0; list != NULL && (name = gp_name_at(which, i, NULL, &alias)); i++)
        if (!alias)
            json_array_append_new(list, json_string(name));
    return list;
}

static json_t *init_params(const gp_init_info *in)
{
    json_t *list = json_array();
    for (size_t k = 0; list != NULL && in->params[k] != NULL; k++) {
        json_t *p = json_pack("{s:s, s:s}", "name", in->params[k], "default", in->defaults[k]);
        gp_names_of which;
        if (p != NULL && gp_init_param_names(in->params[k], &which))
            json_object_set_new(p, "values", names(which));
        json_array_append_new(list, p);
    }
    return list;
}

/* Every initializer (gp_inits): its endpoint /v1/<name>, what it draws, its
 * rank range and its own parameters with their defaults. */
static json_t *initializers(void)
{
    size_t count;
    const gp_init_info *inits = gp_inits(&count);
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < count; i++) {
        const gp_init_info *in = &inits[i];
        json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:o?}", "name", in->name, "distribution",
                              gp_dist_name(in->dist), "fans", in->fans, "min_rank",
                              (json_int_t)in->min_rank, "max_rank", (json_int_t)in->max_rank,
                              "params", init_params(in));
        if (o != NULL && in->alias_of != NULL)
            json_object_set_new(o, "alias_of", json_string(in->alias_of));
        json_array_append_new(list, o);
    }
    return list;
}

/* What algorithm=mlx matches (docs/ALGORITHM.md): MLX's CPU backend. */
static json_t *mlx_compat(void)
{
    return json_pack("{s:s, s:s, s:s}", "float32", "all MLX versions with nn.init (v0.5.0 on)",
                     "float16_bfloat16",
                     "MLX v0.26.5 and later (earlier versions drew 16-bit "
                     "words for half dtypes)",
                     "checked_against", "MLX 0.32.2 (v0.32.1-26-g846d17622), CPU backend");
}

static json_t *limits(const gd_config *cfg)
{
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "max_elements", (json_int_t)cfg->max_elements,
        "max_body_bytes", (json_int_t)cfg->max_body_bytes, "max_json_elements",
        (json_int_t)cfg->max_json_elements, "max_batch_tensors", (json_int_t)cfg->max_batch_tensors,
        "max_batch_bytes", (json_int_t)cfg->max_batch_bytes, "max_connections",
        (json_int_t)cfg->max_connections, "timeout_seconds", (json_int_t)cfg->timeout_s,
        "max_digest_jobs", (json_int_t)cfg->max_digest_jobs);
}

char *gd_info_json(const gd_config *cfg)
{
    gp_request defaults;
    gp_request_init(&defaults);
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:o?, s:o?, s:o?, s:o?, s:o?, s:o?, s:o?}", "name", "glorotd", "version",
        GLOROT_VERSION, "kernels", gp_kernels(), "initializers", initializers(), "algorithms",
        algorithms(&defaults), "mlx_compatibility", mlx_compat(), "dtypes", names(GP_NAMES_DTYPE),
        "fans", names(GP_NAMES_FAN), "formats", names(GP_NAMES_FORMAT), "limits", limits(cfg));
    if (doc == NULL)
        return NULL;
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}
