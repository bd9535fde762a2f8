/*
 * verify.c - compare received bytes with the bytes the proto library
 * generates for the same request and seed.
 *
 * FULL regenerates every byte. SAMPLE checks every format header byte, the
 * first and last element, and one element in each of GLOROTP_SAMPLE_COUNT
 * equal slots, at a position inside the slot scrambled by the slot number
 * (a fixed stride would miss errors that repeat with the stride). json can
 * only be produced sequentially, so it is always checked in full.
 */
#include "client_internal.h"

#include <string.h>

static uint64_t splitmix64(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

glorot_code glorotp_verify_init(glorotp_verifier *v, glorot_verify mode, const gp_request *r,
                                glorot_error *err)
{
    gp_error gerr = {0};
    memset(v, 0, offsetof(glorotp_verifier, scratch));
    v->mode = mode;
    if (gp_body_init(&v->body, r, &gerr) != GP_OK)
        return glorotp_from_gp(err, &gerr);
    v->numel = r->out_numel;
    v->elem_size = gp_dtype_size(r->dtype);
    v->data_offset = v->body.data_offset;
    if (mode == GLOROT_VERIFY_SAMPLE && r->format == GP_FORMAT_JSON)
        v->mode = GLOROT_VERIFY_FULL;
    if (v->mode == GLOROT_VERIFY_SAMPLE && v->numel > 0) {
        v->samples = v->numel < GLOROTP_SAMPLE_COUNT ? v->numel : GLOROTP_SAMPLE_COUNT;
        v->stride = v->numel / v->samples;
    }
    return GLOROT_OK;
}

uint64_t glorotp_sample_index(const glorotp_verifier *v, uint64_t k)
{
    return k * v->stride + splitmix64(k) % v->stride;
}

static glorot_code mismatch(const glorotp_verifier *v, uint64_t at, glorot_error *err)
{
    if (at < v->data_offset)
        return glorotp_fail(err, GLOROT_E_VERIFY, "",
                            "byte %llu of the answer (format header) differs from local "
                            "generation",
                            (unsigned long long)at);
    return glorotp_fail(err, GLOROT_E_VERIFY, "",
                        "byte %llu of the answer (element %llu) differs from local generation",
                        (unsigned long long)at,
                        (unsigned long long)((at - v->data_offset) / v->elem_size));
}

/* Compare body bytes [offset, offset + len) in full. */
static glorot_code compare_range(glorotp_verifier *v, uint64_t offset, const unsigned char *data,
                                 size_t len, glorot_error *err)
{
    while (len > 0) {
        size_t piece = len < sizeof v->scratch ? len : sizeof v->scratch;
        size_t got = gp_body_read(&v->body, offset, v->scratch, piece);
        if (got != piece || memcmp(v->scratch, data, piece) != 0) {
            size_t i = 0;
            while (i < got && v->scratch[i] == data[i])
                i++;
            return mismatch(v, offset + i, err);
        }
        offset += piece;
        data += piece;
        len -= piece;
    }
    return GLOROT_OK;
}

/* Compare the part of element idx that lies in the chunk [offset, offset + len). */
static glorot_code compare_element(glorotp_verifier *v, uint64_t idx, uint64_t offset,
                                   const unsigned char *data, size_t len, glorot_error *err)
{
    uint64_t lo = v->data_offset + idx * v->elem_size;
    uint64_t hi = lo + v->elem_size;
    uint64_t end = offset + len;
    if (lo < offset)
        lo = offset;
    if (hi > end)
        hi = end;
    if (lo >= hi)
        return GLOROT_OK;
    return compare_range(v, lo, data + (lo - offset), (size_t)(hi - lo), err);
}

static glorot_code compare_samples(glorotp_verifier *v, uint64_t offset, const unsigned char *data,
                                   size_t len, glorot_error *err)
{
    uint64_t start = offset > v->data_offset ? offset : v->data_offset;
    uint64_t end = offset + len;
    if (start >= end || v->numel == 0)
        return GLOROT_OK;
    uint64_t first = (start - v->data_offset) / v->elem_size;
    uint64_t last = (end - 1 - v->data_offset) / v->elem_size;
    glorot_code rc = GLOROT_OK;
    if (first == 0)
        rc = compare_element(v, 0, offset, data, len, err);
    if (rc == GLOROT_OK && last == v->numel - 1)
        rc = compare_element(v, last, offset, data, len, err);
    uint64_t k_end = last / v->stride + 1;
    if (k_end > v->samples)
        k_end = v->samples;
    for (uint64_t k = first / v->stride; rc == GLOROT_OK && k < k_end; k++) {
        uint64_t idx = glorotp_sample_index(v, k);
        if (idx >= first && idx <= last)
            rc = compare_element(v, idx, offset, data, len, err);
    }
    return rc;
}

glorot_code glorotp_verify_chunk(glorotp_verifier *v, uint64_t offset, const unsigned char *data,
                                 size_t len, glorot_error *err)
{
    if (v->mode == GLOROT_VERIFY_NONE || len == 0)
        return GLOROT_OK;
    if (v->mode == GLOROT_VERIFY_FULL)
        return compare_range(v, offset, data, len, err);
    glorot_code rc = GLOROT_OK;
    if (offset < v->data_offset) {
        uint64_t head = v->data_offset - offset;
        rc = compare_range(v, offset, data, head < len ? (size_t)head : len, err);
    }
    if (rc == GLOROT_OK)
        rc = compare_samples(v, offset, data, len, err);
    return rc;
}
