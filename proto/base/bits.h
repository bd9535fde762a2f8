/*
 * bits.h - bit helpers private to proto/ (static inline, prefix gpi_): the
 * bits of a float or double and back (memcpy, no aliasing games), and
 * little-endian loads and stores by explicit shifts, so bytes come out the
 * same on every host. gen/gen_internal.h includes it for the generators.
 */
#ifndef GLOROT_BITS_H
#define GLOROT_BITS_H

#include <stdint.h>
#include <string.h>

static inline uint32_t gpi_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float gpi_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint64_t gpi_f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline double gpi_f64_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline void gpi_store_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void gpi_store_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void gpi_store_le64(unsigned char *p, uint64_t v)
{
    gpi_store_le32(p, (uint32_t)v);
    gpi_store_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t gpi_load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t gpi_load_le64(const unsigned char *p)
{
    return (uint64_t)gpi_load_le32(p) | (uint64_t)gpi_load_le32(p + 4) << 32;
}

#endif /* GLOROT_BITS_H */
