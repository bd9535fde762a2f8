/*
 * negotiate.c - choose a format from an HTTP Accept header (RFC 9110 12.5.1).
 *
 * Each offered media type takes the q-value of the most specific media range
 * that matches it (type/subtype with a format parameter > type/subtype >
 * type/any > any/any); among equally specific ranges the highest q counts. A
 * format's q is the best q of its media types. The highest q > 0 wins; ties
 * go to the first of raw, npy, safetensors, json.
 *
 * Parameters other than `format` (charset=..., and everything after q) do
 * not restrict a match. Accepted leniently, as common clients send them: a
 * bare "*" for * / *, q-values written ".5", and empty list elements. Any
 * other syntax error is an error (the server answers 406 with the message).
 */
#include "base/text_internal.h"
#include "glorot_proto.h"

#include <string.h>

#define ACCEPT_MAX 4096
#define QMAX 1000 /* q-values in thousandths */

/* What a client may ask for: each format under its own media type (its row
 * in names.c), and safetensors also as octet-stream with a format parameter.
 * Order matters: on equal q the first offer wins. */
typedef struct {
    gp_format format;
    gp_format media;          /* the format whose media type this offer is */
    const char *format_param; /* NULL: the media type has no format parameter */
} offer;

static const offer offers[] = {
    {GP_FORMAT_RAW, GP_FORMAT_RAW, NULL},
    {GP_FORMAT_NPY, GP_FORMAT_NPY, NULL},
    {GP_FORMAT_SAFETENSORS, GP_FORMAT_SAFETENSORS, NULL},
    {GP_FORMAT_SAFETENSORS, GP_FORMAT_RAW, "safetensors"},
    {GP_FORMAT_JSON, GP_FORMAT_JSON, NULL},
};
#define N_OFFERS (sizeof offers / sizeof offers[0])

typedef struct {
    const char *s;
    size_t n, i;
} cursor;

typedef struct {
    const char *type, *subtype;
    size_t type_len, subtype_len;
    int has_format;
    char format[24];   /* unquoted value; longer values match nothing */
    size_t format_len; /* SIZE_MAX when too long */
    unsigned q;
} media_range;

/* ---- lexing ---------------------------------------------------------------- */

static int at(const cursor *c, char ch)
{
    return c->i < c->n && c->s[c->i] == ch;
}

static void skip_ows(cursor *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
        c->i++;
}

static int is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* A token; returns its length (0 = none) and where it starts. */
static size_t token(cursor *c, const char **start)
{
    *start = c->s + c->i;
    size_t from = c->i;
    while (c->i < c->n && is_tchar((unsigned char)c->s[c->i]))
        c->i++;
    return c->i - from;
}

static unsigned char lower(unsigned char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

static int equals_nocase(const char *a, size_t a_len, const char *b, size_t b_len)
{
    if (a_len != b_len)
        return 0;
    for (size_t i = 0; i < a_len; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* A parameter value: token or quoted-string, unquoted into out (truncation
 * marked by *out_len = SIZE_MAX). Returns 0 on a syntax error. */
static int param_value(cursor *c, char *out, size_t cap, size_t *out_len)
{
    size_t len = 0;
    int quoted = at(c, '"');
    if (quoted)
        c->i++;
    while (c->i < c->n) {
        unsigned char ch = (unsigned char)c->s[c->i];
        if (quoted && ch == '"')
            break;
        if (!quoted && !is_tchar(ch))
            break;
        if (quoted && ch == '\\') {
            if (++c->i >= c->n)
                return 0;
            ch = (unsigned char)c->s[c->i];
        }
        if (quoted && (ch < 0x20 && ch != '\t'))
            return 0;
        if (len < cap)
            out[len] = (char)ch;
        len++;
        c->i++;
    }
    if (quoted) {
        if (!at(c, '"'))
            return 0;
        c->i++;
    } else if (len == 0) {
        return 0;
    }
    *out_len = len <= cap ? len : SIZE_MAX;
    return 1;
}

/* qvalue: "0", "1", "0.5", "1.000", or ".5"; at most three decimals. */
static int parse_q(const char *v, size_t n, unsigned *q)
{
    size_t i = 0;
    unsigned whole = 0, frac = 0, digits = 0;
    int have_whole = n > 0 && (v[0] == '0' || v[0] == '1');
    if (have_whole)
        whole = (unsigned)(v[i++] - '0');
    if (i < n && v[i] == '.') {
        i++;
        for (; i < n && v[i] >= '0' && v[i] <= '9' && digits < 3; i++, digits++)
            frac = frac * 10 + (unsigned)(v[i] - '0');
    }
    if (i != n || (!have_whole && digits == 0))
        return 0;
    for (; digits < 3; digits++)
        frac *= 10;
    *q = whole * QMAX + frac;
    return *q <= QMAX;
}

/* ---- parsing --------------------------------------------------------------- */

static int parse_type(cursor *c, media_range *r)
{
    r->type_len = token(c, &r->type);
    if (r->type_len == 0)
        return 0;
    if (!at(c, '/')) {
        /* a bare "*" (sent by some HTTP libraries) means * / * */
        if (r->type_len != 1 || r->type[0] != '*')
            return 0;
        r->subtype = r->type;
        r->subtype_len = 1;
        return 1;
    }
    c->i++;
    r->subtype_len = token(c, &r->subtype);
    if (r->subtype_len == 0)
        return 0;
    int type_any = r->type_len == 1 && r->type[0] == '*';
    int subtype_any = r->subtype_len == 1 && r->subtype[0] == '*';
    return !type_any || subtype_any;
}

/* One ";name=value" after the media type; *seen_q marks accept-extensions. */
static int parse_param(cursor *c, media_range *r, int *seen_q)
{
    const char *name;
    size_t name_len = token(c, &name);
    if (name_len == 0)
        return 0;
    skip_ows(c);
    if (!at(c, '='))
        return 0;
    c->i++;
    skip_ows(c);
    char value[24];
    size_t value_len;
    if (!param_value(c, value, sizeof value, &value_len))
        return 0;
    if (*seen_q)
        return 1; /* accept-extension: ignored */
    if (equals_nocase(name, name_len, "q", 1)) {
        *seen_q = 1;
        return value_len != SIZE_MAX && parse_q(value, value_len, &r->q);
    }
    if (equals_nocase(name, name_len, "format", 6)) {
        r->has_format = 1;
        r->format_len = value_len;
        if (value_len != SIZE_MAX)
            memcpy(r->format, value, value_len);
    }
    return 1;
}

static int parse_range(cursor *c, media_range *r)
{
    memset(r, 0, sizeof *r);
    r->q = QMAX;
    if (!parse_type(c, r))
        return 0;
    int seen_q = 0;
    for (;;) {
        skip_ows(c);
        if (!at(c, ';'))
            return 1;
        c->i++;
        skip_ows(c);
        if (c->i == c->n || at(c, ',') || at(c, ';'))
            continue; /* "type/sub;" : an empty parameter */
        if (!parse_param(c, r, &seen_q))
            return 0;
    }
}

/* ---- matching -------------------------------------------------------------- */

/* How specifically r matches o: 0 = not at all, 1 = any/any, 2 = type/any,
 * 3 = type/subtype, 4 = type/subtype;format=... */
static int specificity(const media_range *r, const offer *o)
{
    const char *type = gp_format_content_type(o->media);
    const char *subtype = strchr(type, '/') + 1;
    if (r->type_len == 1 && r->type[0] == '*')
        return r->has_format ? 0 : 1;
    if (!equals_nocase(r->type, r->type_len, type, (size_t)(subtype - 1 - type)))
        return 0;
    if (r->subtype_len == 1 && r->subtype[0] == '*')
        return r->has_format ? 0 : 2;
    if (!equals_nocase(r->subtype, r->subtype_len, subtype, strlen(subtype)))
        return 0;
    if (!r->has_format)
        return 3;
    if (o->format_param == NULL || r->format_len == SIZE_MAX)
        return 0;
    return equals_nocase(r->format, r->format_len, o->format_param, strlen(o->format_param)) ? 4
                                                                                             : 0;
}

typedef struct {
    int spec[N_OFFERS];
    unsigned q[N_OFFERS];
} scores;

static void apply(scores *s, const media_range *r)
{
    for (size_t k = 0; k < N_OFFERS; k++) {
        int sp = specificity(r, &offers[k]);
        if (sp == 0)
            continue;
        if (sp > s->spec[k] || (sp == s->spec[k] && r->q > s->q[k])) {
            s->spec[k] = sp;
            s->q[k] = r->q;
        }
    }
}

/* Score every media range; *ranges counts them (0 for an empty header). */
static gp_code parse_accept(const char *accept, size_t n, scores *s, size_t *ranges, gp_error *err)
{
    cursor c = {accept, n, 0};
    *ranges = 0;
    for (;;) {
        skip_ows(&c);
        if (c.i == c.n)
            return GP_OK;
        if (at(&c, ',')) {
            c.i++;
            continue;
        }
        size_t start = c.i;
        media_range r;
        if (!parse_range(&c, &r) || (skip_ows(&c), c.i < c.n && !at(&c, ',')))
            return gp_fail(err, GP_EPARAM, "Accept",
                           "Accept: malformed media range at byte %zu; expected "
                           "type/subtype[;param=value][;q=0..1], comma-separated",
                           start);
        apply(s, &r);
        (*ranges)++;
    }
}

/* "application/octet-stream, application/x-npy, ...": the offers, for errors. */
static void offered_text(char *out, size_t size)
{
    char mem[256];
    gpi_text t;
    gpi_text_init(&t, mem, sizeof mem);
    for (size_t k = 0; k < N_OFFERS; k++) {
        gpi_text_str(&t, k > 0 ? ", " : "");
        gpi_text_str(&t, gp_format_content_type(offers[k].media));
        if (offers[k].format_param != NULL) {
            gpi_text_str(&t, ";format=");
            gpi_text_str(&t, offers[k].format_param);
        }
    }
    gpi_text_export(&t, out, size);
}

gp_code gp_format_negotiate(const char *accept, gp_format *out, gp_error *err)
{
    *out = GP_FORMAT_RAW;
    if (accept == NULL)
        return GP_OK;
    size_t n = strnlen(accept, ACCEPT_MAX + 1);
    if (n > ACCEPT_MAX)
        return gp_fail(err, GP_EPARAM, "Accept", "Accept header is longer than %d bytes",
                       ACCEPT_MAX);
    scores s;
    memset(&s, 0, sizeof s);
    size_t ranges;
    gp_code rc = parse_accept(accept, n, &s, &ranges, err);
    if (rc != GP_OK || ranges == 0)
        return rc; /* no media range at all: like no header */
    unsigned best_q = 0;
    for (size_t k = 0; k < N_OFFERS; k++) {
        if (s.spec[k] != 0 && s.q[k] > best_q) {
            best_q = s.q[k];
            *out = offers[k].format;
        }
    }
    if (best_q > 0)
        return GP_OK;
    char offered[256];
    offered_text(offered, sizeof offered);
    return gp_fail(err, GP_EPARAM, "Accept", "no acceptable format; offered: %s", offered);
}
