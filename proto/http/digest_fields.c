/*
 * digest_fields.c - the fields of RFC 9530 (Digest Fields): reading
 * Want-Repr-Digest / Want-Content-Digest, writing and reading Repr-Digest /
 * Content-Digest values.
 *
 * All four are Structured Field Dictionaries (RFC 8941 3.2). RFC 9530 4:
 * "Want-Content-Digest and Want-Repr-Digest are of type Dictionary where
 * each: key conveys the hashing algorithm; value is an Integer ... It must
 * be in the range 0 to 10 inclusive. 1 is the least preferred, 10 is the
 * most preferred, and a value of 0 means 'not acceptable'." RFC 9530 2: the
 * digest fields are Dictionaries whose "value is a Byte Sequence", e.g.
 *   Content-Digest: sha-256=:d435Qo+nKZ+gLcUHn7GQtQ72hiBVAgqoLsZnZPiTGPk=:
 * The dictionary parser follows RFC 8941 4.2.2 (members, parameters, inner
 * lists and every bare-item type), so any valid field is understood and an
 * invalid one is ignored as a whole (RFC 8941 4.2: "fail parsing").
 */
#include "glorot_proto.h"

#include <sodium.h>
#include <string.h>

/* ---- RFC 8941 parsing -------------------------------------------------------- */

typedef enum { SF_INTEGER, SF_DECIMAL, SF_STRING, SF_TOKEN, SF_BYTES, SF_BOOLEAN, SF_LIST } sf_type;

typedef struct {
    sf_type type;
    const char *text; /* the item's characters (SF_BYTES: the base64, without colons) */
    size_t len;
    long long integer; /* SF_INTEGER */
} sf_item;

typedef struct {
    const char *s;
    size_t n, i;
} sf_cursor;

static int at(const sf_cursor *c, char ch)
{
    return c->i < c->n && c->s[c->i] == ch;
}

static int is_lcalpha(char ch)
{
    return ch >= 'a' && ch <= 'z';
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_alpha(char ch)
{
    return is_lcalpha(ch) || (ch >= 'A' && ch <= 'Z');
}

/* tchar of RFC 9110 5.6.2. */
static int is_tchar(char ch)
{
    return is_alpha(ch) || is_digit(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static void skip_sp(sf_cursor *c)
{
    while (at(c, ' '))
        c->i++;
}

static void skip_ows(sf_cursor *c)
{
    while (at(c, ' ') || at(c, '\t'))
        c->i++;
}

/* key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ) */
static int parse_key(sf_cursor *c, const char **key, size_t *len)
{
    size_t start = c->i;
    if (c->i >= c->n || !(is_lcalpha(c->s[c->i]) || c->s[c->i] == '*'))
        return -1;
    for (c->i++; c->i < c->n; c->i++) {
        char ch = c->s[c->i];
        if (!(is_lcalpha(ch) || is_digit(ch) || ch == '_' || ch == '-' || ch == '.' || ch == '*'))
            break;
    }
    *key = c->s + start;
    *len = c->i - start;
    return 0;
}

/* Integer or Decimal (RFC 8941 4.2.4). */
static int parse_number(sf_cursor *c, sf_item *it)
{
    size_t start = c->i, digits = 0, dot = 0;
    int negative = at(c, '-');
    long long v = 0;
    if (negative)
        c->i++;
    if (c->i >= c->n || !is_digit(c->s[c->i]))
        return -1;
    for (; c->i < c->n; c->i++) {
        char ch = c->s[c->i];
        if (ch == '.' && dot == 0 && digits <= 12) {
            dot = digits + 1;
            continue;
        }
        if (!is_digit(ch))
            break;
        digits++;
        if (dot == 0)
            v = v * 10 + (ch - '0'); /* at most 15 digits: no overflow */
        if ((dot == 0 && digits > 15) || (dot != 0 && digits > 15))
            return -1;
    }
    if (dot != 0 && (digits + 1 == dot || digits - (dot - 1) > 3))
        return -1; /* "1." or more than three fraction digits */
    it->type = dot ? SF_DECIMAL : SF_INTEGER;
    it->integer = negative ? -v : v;
    it->text = c->s + start;
    it->len = c->i - start;
    return 0;
}

static int parse_string(sf_cursor *c, sf_item *it)
{
    size_t start = ++c->i;
    for (; c->i < c->n; c->i++) {
        unsigned char ch = (unsigned char)c->s[c->i];
        if (ch == '\\') {
            if (c->i + 1 >= c->n || (c->s[c->i + 1] != '"' && c->s[c->i + 1] != '\\'))
                return -1;
            c->i++;
        } else if (ch == '"') {
            it->type = SF_STRING;
            it->text = c->s + start;
            it->len = c->i++ - start;
            return 0;
        } else if (ch < 0x20 || ch > 0x7e) {
            return -1;
        }
    }
    return -1;
}

static int parse_token(sf_cursor *c, sf_item *it)
{
    size_t start = c->i++;
    while (c->i < c->n && (is_tchar(c->s[c->i]) || c->s[c->i] == ':' || c->s[c->i] == '/'))
        c->i++;
    it->type = SF_TOKEN;
    it->text = c->s + start;
    it->len = c->i - start;
    return 0;
}

static int parse_bytes(sf_cursor *c, sf_item *it)
{
    size_t start = ++c->i;
    while (c->i < c->n && c->s[c->i] != ':') {
        char ch = c->s[c->i];
        if (!(is_alpha(ch) || is_digit(ch) || ch == '+' || ch == '/' || ch == '='))
            return -1;
        c->i++;
    }
    if (c->i >= c->n)
        return -1;
    it->type = SF_BYTES;
    it->text = c->s + start;
    it->len = c->i++ - start;
    return 0;
}

static int parse_bare_item(sf_cursor *c, sf_item *it)
{
    if (c->i >= c->n)
        return -1;
    char ch = c->s[c->i];
    if (ch == '-' || is_digit(ch))
        return parse_number(c, it);
    if (ch == '"')
        return parse_string(c, it);
    if (ch == '*' || is_alpha(ch))
        return parse_token(c, it);
    if (ch == ':')
        return parse_bytes(c, it);
    if (ch == '?' && c->i + 1 < c->n && (c->s[c->i + 1] == '0' || c->s[c->i + 1] == '1')) {
        it->type = SF_BOOLEAN;
        it->text = c->s + c->i + 1;
        it->len = 1;
        c->i += 2;
        return 0;
    }
    return -1;
}

/* *( ";" *SP key [ "=" bare-item ] ): checked and skipped. */
static int skip_parameters(sf_cursor *c)
{
    while (at(c, ';')) {
        const char *key;
        size_t len;
        sf_item ignored;
        c->i++;
        skip_sp(c);
        if (parse_key(c, &key, &len) != 0)
            return -1;
        if (at(c, '=')) {
            c->i++;
            if (parse_bare_item(c, &ignored) != 0)
                return -1;
        }
    }
    return 0;
}

/* "(" *SP [ item *( 1*SP item ) *SP ] ")" parameters */
static int parse_inner_list(sf_cursor *c, sf_item *it)
{
    size_t start = c->i++;
    for (;;) {
        skip_sp(c);
        if (at(c, ')')) {
            c->i++;
            break;
        }
        sf_item member;
        if (parse_bare_item(c, &member) != 0 || skip_parameters(c) != 0)
            return -1;
        if (!at(c, ' ') && !at(c, ')'))
            return -1;
    }
    it->type = SF_LIST;
    it->text = c->s + start;
    it->len = c->i - start;
    return skip_parameters(c);
}

typedef void (*sf_member_fn)(void *user, const char *key, size_t key_len, const sf_item *value);

/* sf-dictionary = dict-member *( OWS "," OWS dict-member ), with leading and
 * trailing SP discarded. An empty field is an empty dictionary. Members are
 * reported in order (a later duplicate overrides an earlier one, which the
 * callbacks get by keeping the last). Returns 0, or -1 when the text is not
 * a valid dictionary (members already reported stay reported: callers
 * collect into a scratch copy). */
static int sf_dictionary(const char *s, size_t n, sf_member_fn fn, void *user)
{
    sf_cursor c = {s, n, 0};
    while (c.n > 0 && c.s[c.n - 1] == ' ')
        c.n--;
    skip_sp(&c);
    while (c.i < c.n) {
        const char *key;
        size_t key_len;
        sf_item value = {SF_BOOLEAN, "1", 1, 0};
        if (parse_key(&c, &key, &key_len) != 0)
            return -1;
        if (at(&c, '=')) {
            c.i++;
            int rc = at(&c, '(') ? parse_inner_list(&c, &value)
                                 : (parse_bare_item(&c, &value) != 0 ? -1 : skip_parameters(&c));
            if (rc != 0)
                return -1;
        } else if (skip_parameters(&c) != 0) {
            return -1;
        }
        fn(user, key, key_len, &value);
        skip_ows(&c);
        if (c.i >= c.n)
            return 0;
        if (!at(&c, ','))
            return -1;
        c.i++;
        skip_ows(&c);
        if (c.i >= c.n)
            return -1; /* a trailing comma */
    }
    return 0;
}

/* ---- algorithms --------------------------------------------------------------- */

static const struct {
    const char *name;
    size_t size;
} algorithms[] = {
    [GP_DIGEST_SHA256] = {"sha-256", crypto_hash_sha256_BYTES},
    [GP_DIGEST_SHA512] = {"sha-512", crypto_hash_sha512_BYTES},
};

const char *gp_digest_alg_name(gp_digest_alg a)
{
    return a == GP_DIGEST_SHA256 || a == GP_DIGEST_SHA512 ? algorithms[a].name : "";
}

size_t gp_digest_alg_size(gp_digest_alg a)
{
    return a == GP_DIGEST_SHA256 || a == GP_DIGEST_SHA512 ? algorithms[a].size : 0;
}

static gp_digest_alg alg_of(const char *key, size_t len)
{
    for (int a = GP_DIGEST_SHA256; a <= GP_DIGEST_SHA512; a++)
        if (strlen(algorithms[a].name) == len && memcmp(algorithms[a].name, key, len) == 0)
            return (gp_digest_alg)a;
    return GP_DIGEST_NONE;
}

/* ---- Want-Repr-Digest / Want-Content-Digest ---------------------------------------- */

void gp_want_digest_init(gp_want_digest *w)
{
    memset(w, 0, sizeof *w);
    w->pref[GP_DIGEST_SHA256] = w->pref[GP_DIGEST_SHA512] = -1;
}

static void on_want_member(void *user, const char *key, size_t key_len, const sf_item *value)
{
    gp_want_digest *w = user;
    gp_digest_alg a = alg_of(key, key_len);
    if (a == GP_DIGEST_NONE)
        return; /* an algorithm we do not offer (md5, unixsum, ...): ignored */
    /* Anything but an Integer 0..10 says nothing we can use: as if absent. */
    int ok = value->type == SF_INTEGER && value->integer >= 0 && value->integer <= 10;
    w->pref[a] = ok ? (int)value->integer : -1;
}

void gp_want_digest_add(gp_want_digest *w, const char *value, size_t len)
{
    gp_want_digest scratch = *w;
    w->present = 1;
    if (value == NULL || sf_dictionary(value, len, on_want_member, &scratch) != 0) {
        w->invalid = 1;
        return;
    }
    memcpy(w->pref, scratch.pref, sizeof w->pref);
}

gp_digest_alg gp_want_digest_choice(const gp_want_digest *w)
{
    if (!w->present || w->invalid)
        return GP_DIGEST_NONE;
    int p256 = w->pref[GP_DIGEST_SHA256], p512 = w->pref[GP_DIGEST_SHA512];
    if (p256 <= 0 && p512 <= 0)
        return GP_DIGEST_NONE;
    return p512 > p256 ? GP_DIGEST_SHA512 : GP_DIGEST_SHA256;
}

/* ---- Repr-Digest / Content-Digest values ---------------------------------------------- */

size_t gp_digest_field(gp_digest_alg a, const unsigned char *hash, char *out, size_t size)
{
    size_t hash_len = gp_digest_alg_size(a);
    const char *name = gp_digest_alg_name(a);
    size_t b64 = sodium_base64_ENCODED_LEN(hash_len, sodium_base64_VARIANT_ORIGINAL);
    size_t need = strlen(name) + 2 + (b64 - 1) + 1; /* name "=:" base64 ":" */
    if (hash_len == 0 || out == NULL || size < need + 1)
        return 0;
    size_t n = strlen(name);
    memcpy(out, name, n);
    memcpy(out + n, "=:", 2);
    sodium_bin2base64(out + n + 2, b64, hash, hash_len, sodium_base64_VARIANT_ORIGINAL);
    memcpy(out + n + 2 + b64 - 1, ":", 2);
    return need;
}

typedef struct {
    gp_digest_alg want;
    int found; /* 1 = a byte sequence of the right length, -1 = present but not one */
    unsigned char *hash;
} find_ctx;

static void on_digest_member(void *user, const char *key, size_t key_len, const sf_item *value)
{
    find_ctx *f = user;
    if (alg_of(key, key_len) != f->want)
        return;
    size_t got = 0, size = gp_digest_alg_size(f->want);
    unsigned char bin[crypto_hash_sha512_BYTES];
    f->found = value->type == SF_BYTES &&
                       sodium_base642bin(bin, sizeof bin, value->text, value->len, NULL, &got, NULL,
                                         sodium_base64_VARIANT_ORIGINAL) == 0 &&
                       got == size
                   ? 1
                   : -1;
    if (f->found == 1)
        memcpy(f->hash, bin, size);
}

int gp_digest_field_find(const char *value, size_t len, gp_digest_alg a, unsigned char *hash)
{
    find_ctx f = {a, 0, hash};
    if (value == NULL || gp_digest_alg_size(a) == 0 || hash == NULL)
        return -1;
    if (sf_dictionary(value, len, on_digest_member, &f) != 0)
        return -1;
    return f.found;
}
