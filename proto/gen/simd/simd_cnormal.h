/*
 * simd_cnormal.h - private to proto/gen/simd/simd_cnormal_*.c: the chacha20 v1 normal
 * family (docs/ALGORITHM.md 3.7.2) on VD double lanes, written once over
 * lane macros the including file defines (AVX2: 4 lanes, AVX-512: 8).
 *
 * Every lane performs exactly the scalar operations of chacha_normal.c, in
 * the same order, each rounded on its own (no FMA): odd65's exact halves and
 * single rounding; ln with the same reduction, series and sum order; the same
 * AS241 Horner steps; truncated_normal's masses, branches and clamp. Every
 * lane computes the body; the lanes that need the tail (about 15% for the
 * normal) are gathered and run through the tail in full vectors, whose r > 5
 * piece runs only when some lane needs it; a vector with a subnormal tail
 * mass and the far-tail law are left to the scalar code.
 * tests/unit/test_chacha_normal.c checks the bits against the scalar code at
 * every level.
 *
 * The includer defines, for vectors of VD doubles / 64-bit integers:
 *   vd, vq, vmask              double, int64 and lane-mask types
 *   Q_LOAD(p) D_STORE(p, v)    unaligned
 *   F_STORE_RNE(p, v)          the lanes rounded to float (RNE), VD floats
 *   Q_SET1(x) D_SET1(x)
 *   Q_AND Q_OR Q_XOR Q_ADD     64-bit lanes
 *   Q_SRL(v, n) Q_SLL(v, n)    constant n
 *   Q_AS_D(v) D_AS_Q(d)        bit casts
 *   D_ADD D_SUB D_MUL D_DIV D_SQRT
 *   D_U64(v)                   RNE_f64 of 64-bit lanes < 2^64 (one rounding)
 *   D_LE(a, b) D_GE(a, b) D_GT(a, b)   ordered compares -> vmask
 *   Q_GE(a, b)                 (int64)a >= (int64)b -> vmask (lanes < 2^62)
 *   M_ANY(m) M_ALL(m)          any / every lane set
 *   M_BITS(m)                  the lanes as bits (lane l = bit l)
 *   D_LOAD(p)                  unaligned doubles
 *   D_SEL(m, x, y)             m ? x : y per lane
 *   Q_SEL(m, x, y)
 *   CN_FN(name)                the kernel's name for this set
 */

#define CN_M63 UINT64_C(0x7FFFFFFFFFFFFFFF)

/* Bit patterns and constants of chacha_normal.c (same values). */
static const double CN_LN2_HI = 0x1.62e42p-1;
static const double CN_LN2_LO = 0x1.fdf473de6af28p-22;
static const double CN_LOG_C[11] = {2.0 / 3,  2.0 / 5,  2.0 / 7,  2.0 / 9,  2.0 / 11, 2.0 / 13,
                                    2.0 / 15, 2.0 / 17, 2.0 / 19, 2.0 / 21, 2.0 / 23};
static const double CN_A[8] = {3.3871328727963666080e+00, 1.3314166789178437745e+02,
                               1.9715909503065514427e+03, 1.3731693765509461125e+04,
                               4.5921953931549871457e+04, 6.7265770927008700853e+04,
                               3.3430575583588128105e+04, 2.5090809287301226727e+03};
static const double CN_B[8] = {1.0,
                               4.2313330701600911252e+01,
                               6.8718700749205790830e+02,
                               5.3941960214247511077e+03,
                               2.1213794301586595867e+04,
                               3.9307895800092710610e+04,
                               2.8729085735721942674e+04,
                               5.2264952788528545610e+03};
static const double CN_C[8] = {1.42343711074968357734e+00, 4.63033784615654529590e+00,
                               5.76949722146069140550e+00, 3.64784832476320460504e+00,
                               1.27045825245236838258e+00, 2.41780725177450611770e-01,
                               2.27238449892691845833e-02, 7.74545014278341407640e-04};
static const double CN_D[8] = {1.0,
                               2.05319162663775882187e+00,
                               1.67638483018380384940e+00,
                               6.89767334985100004550e-01,
                               1.48103976427480074590e-01,
                               1.51986665636164571966e-02,
                               5.47593808499534494600e-04,
                               1.05075007164441684324e-09};
static const double CN_E[8] = {6.65790464350110377720e+00, 5.46378491116411436990e+00,
                               1.78482653991729133580e+00, 2.96560571828504891230e-01,
                               2.65321895265761230930e-02, 1.24266094738807843860e-03,
                               2.71155556874348757815e-05, 2.01033439929228813265e-07};
static const double CN_F[8] = {1.0,
                               5.99832206555887937690e-01,
                               1.36929880922735805310e-01,
                               1.48753612908506148525e-02,
                               7.86869131145613259100e-04,
                               1.84631831751005468180e-05,
                               1.42151175831644588870e-07,
                               2.04426310338993978564e-15};

static inline vd cn_horner(const double c[8], vd r)
{
    vd p = D_SET1(c[7]);

    for (int k = 6; k >= 0; k--)
        p = D_ADD(D_MUL(p, r), D_SET1(c[k]));
    return p;
}

/* odd65(x) for lanes x < 2^63. */
static inline vd cn_odd65(vq x)
{
    vq n = Q_ADD(Q_ADD(x, x), Q_SET1(1));

    return D_MUL(D_U64(n), D_SET1(0x1p-65));
}

/* ln(q 2^kadj) for normal q (subnormal lanes never come here). */
static inline vd cn_log(vd q, int kadj)
{
    vq b = D_AS_Q(q);
    vq mant = Q_AND(b, Q_SET1(UINT64_C(0xFFFFFFFFFFFFF)));
    vmask half = Q_GE(mant, Q_SET1(UINT64_C(0x6A09E667F3BCD)));
    /* k + 3072 (+ 1 when halved; b >> 52 is k + 1023) in 2^52's mantissa: an
     * exact integer -> double */
    vq kb = Q_ADD(Q_SRL(b, 52), Q_SEL(half, Q_SET1(2050 + kadj), Q_SET1(2049 + kadj)));
    vd kd = D_SUB(Q_AS_D(Q_OR(kb, Q_SET1(UINT64_C(0x4330000000000000)))), D_SET1(0x1p52 + 3072.0));
    vd m = Q_AS_D(Q_OR(mant, Q_SEL(half, Q_SET1(UINT64_C(0x3FE0000000000000)),
                                   Q_SET1(UINT64_C(0x3FF0000000000000)))));
    vd f = D_SUB(m, D_SET1(1.0));
    vd s = D_DIV(f, D_ADD(D_SET1(2.0), f));
    vd w = D_MUL(s, s);
    vd p = D_SET1(CN_LOG_C[10]);

    for (int j = 9; j >= 0; j--)
        p = D_ADD(D_MUL(p, w), D_SET1(CN_LOG_C[j]));
    vd lnm = D_ADD(D_ADD(s, s), D_MUL(s, D_MUL(w, p)));
    return D_ADD(D_MUL(kd, D_SET1(CN_LN2_HI)), D_ADD(D_MUL(kd, D_SET1(CN_LN2_LO)), lnm));
}

/* as241_tail(q, kadj) for normal q; the r > 5 piece only when a lane needs it. */
static inline vd cn_tail(vd q, int kadj)
{
    vd r = D_SQRT(D_SUB(D_SET1(0.0), cn_log(q, kadj)));
    vmask big = D_GT(r, D_SET1(5.0));
    vd r1 = D_SUB(r, D_SET1(1.6));
    vd t = D_DIV(cn_horner(CN_C, r1), cn_horner(CN_D, r1));

    if (M_ANY(big)) {
        vd r2 = D_SUB(r, D_SET1(5.0));
        t = D_SEL(big, D_DIV(cn_horner(CN_E, r2), cn_horner(CN_F, r2)), t);
    }
    return t;
}

/* The tail of gathered masses tq[0 .. nt) (padded to a multiple of VD),
 * each result negated where neg[j], stored to out[ti[j]]. A vector with a
 * subnormal (or zero) mass takes the scalar tail, which scales it first. */
static void CN_FN(tails)(double *tq, const uint16_t *ti, const unsigned char *neg, size_t nt,
                         int kadj, double *out)
{
    for (size_t j = nt; j % VD != 0; j++)
        tq[j] = 0.25;
    for (size_t j = 0; j < nt; j += VD) {
        double t[VD];
        vd q = D_LOAD(tq + j);
        if (M_ALL(D_GE(q, D_SET1(0x1p-1022)))) {
            D_STORE(t, cn_tail(q, kadj));
        } else {
            for (int l = 0; l < VD; l++)
                t[l] = gpi_chacha_tail(tq[j + (size_t)l], kadj);
        }
        for (size_t l = 0; l < VD && j + l < nt; l++)
            out[ti[j + l]] = neg[j + l] ? -t[l] : t[l];
    }
}

#define CN_BLOCK 256 /* words per pass: the tail lanes are gathered per block */

/* One block of n words (n a multiple of VD, <= CN_BLOCK): (1) the body for
 * every lane, and the tail masses of the lanes that need the tail gathered
 * densely; (2) the tail on the gathered lanes, full vectors (the last one
 * padded with a body-range mass whose result is dropped), scattered back;
 * (3) sign, std and mean. Each lane's value is the scalar one. */
static void CN_FN(normal_block)(const unsigned char *ks, size_t n, vd vmean, vd vstd, double *out,
                                float *out32)
{
    double tq[CN_BLOCK + VD];
    uint16_t ti[CN_BLOCK + VD];
    unsigned char neg[CN_BLOCK + VD];
    size_t nt = 0;

    for (size_t i = 0; i < n; i += VD) {
        vq v = Q_AND(Q_LOAD(ks + 8 * i), Q_SET1(CN_M63));
        vd c = cn_odd65(Q_XOR(v, Q_SET1(CN_M63)));
        vd r = D_SUB(D_SET1(0.180625), D_MUL(c, c));
        vmask body = D_LE(c, D_SET1(0.425));

        D_STORE(out + i, D_DIV(D_MUL(c, cn_horner(CN_A, r)), cn_horner(CN_B, r)));
        if (!M_ALL(body)) {
            double q[VD];
            unsigned bits = M_BITS(body);
            D_STORE(q, cn_odd65(v));
            for (int l = 0; l < VD; l++) { /* branch-free: write, advance if tail */
                tq[nt] = q[l];
                ti[nt] = (uint16_t)(i + (size_t)l);
                neg[nt] = 0;
                nt += ((bits >> l) & 1u) ^ 1u;
            }
        }
    }
    CN_FN(tails)(tq, ti, neg, nt, 0, out);
    for (size_t i = 0; i < n; i += VD) {
        vq sign = Q_SLL(Q_SRL(Q_LOAD(ks + 8 * i), 63), 63);
        vd z = Q_AS_D(Q_XOR(D_AS_Q(D_LOAD(out + i)), sign));
        vd value = D_ADD(vmean, D_MUL(vstd, z));
        if (out32 != NULL)
            F_STORE_RNE(out32 + i, value); /* RNE_f32, as the C conversion */
        else
            D_STORE(out + i, value);
    }
}

/* truncated_normal (3.7.4) without the far-tail law: the same three passes,
 * the tail masses Qbs + pu Ws (upper) and Las + pl Ws (lower, negated). */
static void CN_FN(trunc_block)(const gpi_chacha_dist *d, const unsigned char *ks, size_t n,
                               double *out, float *out32)
{
    double tq[CN_BLOCK + VD];
    uint16_t ti[CN_BLOCK + VD];
    unsigned char neg[CN_BLOCK + VD];
    size_t nt = 0;
    vd da = D_SET1(d->da), w = D_SET1(d->w), ws = D_SET1(d->ws), tbs = D_SET1(d->tbs);
    vd las = D_SET1(d->las);
    vq flip = Q_SET1(d->flip ? 1 : 0);

    for (size_t i = 0; i < n; i += VD) {
        vq u = Q_LOAD(ks + 8 * i);
        vq v = Q_AND(u, Q_SET1(CN_M63));
        vd small = cn_odd65(v);
        vd big = D_ADD(D_SET1(0.5), cn_odd65(Q_XOR(v, Q_SET1(CN_M63))));
        vmask lower = Q_GE(Q_XOR(Q_SRL(u, 63), flip), Q_SET1(1));
        vd pl = D_SEL(lower, small, big), pu = D_SEL(lower, big, small);
        vd dd = D_ADD(da, D_MUL(pl, w));
        vd r = D_SUB(D_SET1(0.180625), D_MUL(dd, dd));
        vmask up = D_GT(dd, D_SET1(0.425)), lo = D_GT(D_SET1(-0.425), dd);

        D_STORE(out + i, D_DIV(D_MUL(dd, cn_horner(CN_A, r)), cn_horner(CN_B, r)));
        if (M_ANY(up) || M_ANY(lo)) {
            double qu[VD], ql[VD];
            unsigned bu = M_BITS(up), bl = M_BITS(lo);
            D_STORE(qu, D_ADD(tbs, D_MUL(pu, ws)));
            D_STORE(ql, D_ADD(las, D_MUL(pl, ws)));
            for (int l = 0; l < VD; l++) {
                unsigned isl = (bl >> l) & 1u;
                tq[nt] = isl ? ql[l] : qu[l];
                ti[nt] = (uint16_t)(i + (size_t)l);
                neg[nt] = (unsigned char)isl;
                nt += ((bu >> l) & 1u) | isl;
            }
        }
    }
    CN_FN(tails)(tq, ti, neg, nt, d->kadj, out);
    vq fsign = Q_SLL(flip, 63);
    vd mean = D_SET1(d->mean), std = D_SET1(d->std), a = D_SET1(d->a), b = D_SET1(d->b);
    for (size_t i = 0; i < n; i += VD) {
        vd z = Q_AS_D(Q_XOR(D_AS_Q(D_LOAD(out + i)), fsign));
        vd value = D_ADD(mean, D_MUL(std, z));
        value = D_SEL(D_GE(value, a), value, a); /* NaN to a, as the scalar clamp */
        value = D_SEL(D_LE(value, b), value, b);
        if (out32 != NULL)
            F_STORE_RNE(out32 + i, value);
        else
            D_STORE(out + i, value);
    }
}

/* value_d of d for a prefix of n words (a multiple of VD; 0 for the
 * far-tail law, left to the scalar code), into out (float32 != 0:
 * RNE_f32(value_d) into (float *)out); returns its length. */
static size_t CN_FN(cnormal)(const gpi_chacha_dist *d, const unsigned char *ks, size_t n,
                             int float32, void *out)
{
    vd vmean = D_SET1(d->mean), vstd = D_SET1(d->std);
    size_t done = d->truncated && d->far ? 0 : n - n % VD;
    double tmp[CN_BLOCK];

    for (size_t i = 0; i < done; i += CN_BLOCK) {
        size_t m = done - i < CN_BLOCK ? done - i : CN_BLOCK;
        double *o = float32 ? tmp : (double *)out + i;
        float *o32 = float32 ? (float *)out + i : NULL;
        if (d->truncated)
            CN_FN(trunc_block)(d, ks + 8 * i, m, o, o32);
        else
            CN_FN(normal_block)(ks + 8 * i, m, vmean, vstd, o, o32);
    }
    return done;
}
