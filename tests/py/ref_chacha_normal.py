#!/usr/bin/python3
"""Independent reference for chacha20 v1, normal family (docs/ALGORITHM.md 3.7).

Standard library + numpy only, nothing from glorotd. Python floats are IEEE
binary64 and + - * / and math.sqrt are correctly rounded, so every step below
gives the bits the C code (proto/chacha_normal.c) gives.

    ref_chacha_normal.py sha256 --seed S --name N --dtype D --count C \
        [--init normal|truncated_normal] [--mean M] [--std S] [--a A] [--b B]
        prints the hex SHA-256 of the first C elements' little-endian bytes
    ref_chacha_normal.py values ... (same options)
        prints one line per element: index, element bits (hex), value
    ref_chacha_normal.py golden
        prints the golden-vector rows of tests/unit/test_chacha_normal.c
"""
import argparse
import hashlib
import math
import struct
import sys

import numpy as np

# ---- ChaCha20 keystream and the tensor key (docs/ALGORITHM.md 3.1-3.2) ------


def rotl(x, r):
    return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF


def qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = rotl(s[b] ^ s[c], 7)


def chacha_block(key, counter):
    init = list(struct.unpack('<4I', b'expand 32-byte k')) + list(struct.unpack('<8I', key)) + \
        [counter & 0xFFFFFFFF, counter >> 32, 0, 0]
    s = init[:]
    for _ in range(10):
        qr(s, 0, 4, 8, 12)
        qr(s, 1, 5, 9, 13)
        qr(s, 2, 6, 10, 14)
        qr(s, 3, 7, 11, 15)
        qr(s, 0, 5, 10, 15)
        qr(s, 1, 6, 11, 12)
        qr(s, 2, 7, 8, 13)
        qr(s, 3, 4, 9, 14)
    return struct.pack('<16I', *[(a + b) & 0xFFFFFFFF for a, b in zip(s, init)])


def keystream(key, nbytes):
    out, blk = bytearray(), 0
    while len(out) < nbytes:
        out += chacha_block(key, blk)
        blk += 1
    return bytes(out[:nbytes])


def tensor_key(seed, name):
    return hashlib.blake2b(b'glorotd/chacha20/v1\x00' + struct.pack('<Q', seed) + name,
                           digest_size=32).digest()


# ---- exact bit helpers --------------------------------------------------------


def bits(x):
    return struct.unpack('<Q', struct.pack('<d', x))[0]


def from_bits(b):
    return struct.unpack('<d', struct.pack('<Q', b))[0]


M63 = (1 << 63) - 1
TWO_M65 = 2.0 ** -65


def odd65(x):
    """RNE_f64(2x + 1) * 2^-65 for a 63-bit x: the integer split in two exact
    halves, one rounding in the sum."""
    n = 2 * x + 1
    return (float(n >> 32) * 4294967296.0 + float(n & 0xFFFFFFFF)) * TWO_M65


# ---- log and exp from basic operations ---------------------------------------

LN2_HI = float.fromhex('0x1.62e42p-1')
LN2_LO = float.fromhex('0x1.fdf473de6af28p-22')
INV_LN2 = float.fromhex('0x1.71547652b82fep+0')
INV_SQRT_2PI = float.fromhex('0x1.9884533d43651p-2')
SQRT2_MANT = 0x6A09E667F3BCD            # mantissa bits of RNE(sqrt 2)
LOG_C = [2.0 / (2 * j + 1) for j in range(1, 12)]    # 2/3, 2/5, ..., 2/23
EXP_C = [1.0 / math.factorial(j) for j in range(15)]  # 1/0!, ..., 1/14!


def glog(x, kadj=0):
    """ln(x * 2^kadj) for finite x > 0 (subnormals included), integer kadj."""
    k = kadj
    b = bits(x)
    if b < 0x0010000000000000:
        b = bits(x * 2.0 ** 64)
        k = -64
    k += (b >> 52) - 1023
    mant = b & 0xFFFFFFFFFFFFF
    if mant >= SQRT2_MANT:
        m = from_bits(mant | 0x3FE0000000000000)  # in [sqrt(2)/2, 1)
        k += 1
    else:
        m = from_bits(mant | 0x3FF0000000000000)  # in [1, sqrt(2))
    f = m - 1.0
    s = f / (2.0 + f)
    w = s * s
    p = LOG_C[10]
    for c in reversed(LOG_C[:10]):
        p = p * w + c
    lnm = (s + s) + s * (w * p)
    kd = float(k)
    return kd * LN2_HI + (kd * LN2_LO + lnm)


def gexp(y):
    """e^y for y <= 0; 0 below -708 (and for NaN)."""
    if not (y >= -708.0):
        return 0.0
    n = int(0.5 - y * INV_LN2)    # round(-y/ln2): truncation of a positive value
    nd = float(n)
    r = (y + nd * LN2_HI) + nd * LN2_LO
    p = EXP_C[14]
    for c in reversed(EXP_C[:14]):
        p = p * r + c
    return p * from_bits((1023 - n) << 52)


# ---- the normal distribution: Phi - 1/2 and Q = 1 - Phi for x >= 0 -------------

Q_ZERO = 37.5      # Q(x) = 0 from here on (Q(37.5) ~ 4e-309)
SERIES_MAX = 2.5   # below: Taylor series of Phi - 1/2; at and above: Laplace's fraction
SERIES_TERMS = 60
CF_DEPTH = 200


def hq(x):
    """(H, Q) = (Phi(x) - 1/2, 1 - Phi(x)) for x >= 0."""
    if not (x < Q_ZERO):
        return 0.5, 0.0
    phi = gexp(-(0.5 * (x * x))) * INV_SQRT_2PI
    if x < SERIES_MAX:
        xx = x * x
        term = x
        s = x
        for n in range(1, SERIES_TERMS + 1):
            term = term * xx / float(2 * n + 1)
            s = s + term
        h = phi * s
        return h, 0.5 - h
    t = x
    for k in range(CF_DEPTH, 0, -1):
        t = x + float(k) / t
    q = phi / t
    return 0.5 - q, q


# ---- AS241 (Wichura 1988, PPND16) ------------------------------------------------

AS_A = [3.3871328727963666080e+00, 1.3314166789178437745e+02, 1.9715909503065514427e+03,
        1.3731693765509461125e+04, 4.5921953931549871457e+04, 6.7265770927008700853e+04,
        3.3430575583588128105e+04, 2.5090809287301226727e+03]
AS_B = [1.0, 4.2313330701600911252e+01, 6.8718700749205790830e+02, 5.3941960214247511077e+03,
        2.1213794301586595867e+04, 3.9307895800092710610e+04, 2.8729085735721942674e+04,
        5.2264952788528545610e+03]
AS_C = [1.42343711074968357734e+00, 4.63033784615654529590e+00, 5.76949722146069140550e+00,
        3.64784832476320460504e+00, 1.27045825245236838258e+00, 2.41780725177450611770e-01,
        2.27238449892691845833e-02, 7.74545014278341407640e-04]
AS_D = [1.0, 2.05319162663775882187e+00, 1.67638483018380384940e+00, 6.89767334985100004550e-01,
        1.48103976427480074590e-01, 1.51986665636164571966e-02, 5.47593808499534494600e-04,
        1.05075007164441684324e-09]
AS_E = [6.65790464350110377720e+00, 5.46378491116411436990e+00, 1.78482653991729133580e+00,
        2.96560571828504891230e-01, 2.65321895265761230930e-02, 1.24266094738807843860e-03,
        2.71155556874348757815e-05, 2.01033439929228813265e-07]
AS_F = [1.0, 5.99832206555887937690e-01, 1.36929880922735805310e-01, 1.48753612908506148525e-02,
        7.86869131145613259100e-04, 1.84631831751005468180e-05, 1.42151175831644588870e-07,
        2.04426310338993978564e-15]


def horner(c, r):
    p = c[7]
    for k in range(6, -1, -1):
        p = p * r + c[k]
    return p


def body(d):
    """Phi^-1(1/2 + d) for |d| <= 0.425."""
    r = 0.180625 - d * d
    return d * horner(AS_A, r) / horner(AS_B, r)


def tail(q, kadj=0):
    """Q^-1(q * 2^kadj) = Phi^-1(1 - q 2^kadj), q 2^kadj <= 0.075; q = 0 is taken as 2^-1074."""
    if not (q > 0.0):
        q = 5e-324
    r = math.sqrt(-glog(q, kadj))
    if r <= 5.0:
        r = r - 1.6
        return horner(AS_C, r) / horner(AS_D, r)
    r = r - 5.0
    return horner(AS_E, r) / horner(AS_F, r)


# ---- word -> z ---------------------------------------------------------------------


def std_normal(u):
    s = u >> 63
    v = u & M63
    c = odd65(v ^ M63)     # 1/2 - p, p the lower-tail probability of the magnitude
    t = body(c) if c <= 0.425 else tail(odd65(v))
    return -t if s else t


FAR = 37.0      # beyond: the far-tail law
SCALED = 20.0   # one-sided from here on: tail masses kept times 2^SCALE
SCALE = 600


class Trunc:
    """The per-request constants of truncated_normal (docs: 3.7.4)."""

    def __init__(self, mean, std, a, b):
        self.mean, self.std, self.a, self.b = mean, std, a, b
        al = (a - mean) / std
        be = (b - mean) / std
        self.flip = be <= 0.0
        if self.flip:
            al, be = -be, -al
        self.al, self.be = al, be
        self.far = al > FAR
        self.kadj = 0
        la = 0.0
        if al >= 0.0:
            ha, ta = hq(al)
            _, tb = hq(be)
            self.da, self.w = ha, ta - tb
        else:
            hna, la = hq(-al)
            hb, tb = hq(be)
            self.da, self.w = -hna, hb + hna
        scale = 1.0
        if al >= SCALED:
            scale, self.kadj = 2.0 ** SCALE, -SCALE
        self.ws, self.tbs, self.las = self.w * scale, tb * scale, la * scale
        if self.far:
            self.c0 = gexp(-(0.5 * ((be - al) * (be + al))))
            self.c1 = 1.0 - self.c0

    def z(self, u):
        s = u >> 63
        v = u & M63
        small = odd65(v)
        big = 0.5 + odd65(v ^ M63)
        pl, pu = (small, big) if s else (big, small)
        if self.flip:
            pl, pu = pu, pl
        if self.far:
            g = self.c0 + pu * self.c1
            if not (g > 0.0):
                g = 5e-324
            e2 = -glog(g)
            e2 = e2 + e2
            z = self.al + e2 / (self.al + math.sqrt(self.al * self.al + e2))
        else:
            d = self.da + pl * self.w
            if d > 0.425:
                z = tail(self.tbs + pu * self.ws, self.kadj)
            elif d < -0.425:
                z = -tail(self.las + pl * self.ws, self.kadj)
            else:
                z = body(d)
        return -z if self.flip else z

    def value(self, u):
        v = self.mean + self.std * self.z(u)
        if not (v >= self.a):
            v = self.a
        if not (v <= self.b):
            v = self.b
        return v


# ---- dtype output ----------------------------------------------------------------


def bf16_bits(f32):   # nearest bfloat16 by distance, ties to even (docs/ALGORITHM.md 3.6)
    v = float(f32)
    if v == 0:
        return 0x8000 if math.copysign(1, v) < 0 else 0
    sign, a = (0x8000 if v < 0 else 0), abs(v)
    m, e = math.frexp(a)
    ulp = math.ldexp(1.0, max(e - 8, -133))
    q = math.floor(a / ulp)
    lo = q * ulp
    hi = lo + ulp
    r = lo if (a - lo < hi - a or (a - lo == hi - a and q % 2 == 0)) else hi
    return sign | (np.array([r], dtype=np.float32).view(np.uint32)[0] >> 16)


def encode(values, dtype):
    """value_d list -> little-endian bytes of the dtype."""
    if dtype == 'float64':
        return np.array(values, dtype='<f8').tobytes()
    f = np.array(values, dtype=np.float64).astype(np.float32)   # RNE_f32
    if dtype == 'float32':
        return f.astype('<f4').tobytes()
    if dtype == 'float16':
        return f.astype('<f2').tobytes()
    return np.array([bf16_bits(x) for x in f], dtype='<u2').tobytes()


def words(seed, name, first, count):
    ks = keystream(tensor_key(seed, name), 8 * (first + count))[8 * first:]
    return list(struct.unpack('<%dQ' % count, ks))


def values(init, seed, name, count, mean=0.0, std=1.0, a=-2.0, b=2.0, first=0):
    u = words(seed, name, first, count)
    if init == 'normal':
        return [mean + std * std_normal(x) for x in u]
    tr = Trunc(mean, std, a, b)
    return [tr.value(x) for x in u]


def tensor(init, seed, name, dtype, count, **kw):
    return encode(values(init, seed, name, count, **kw), dtype)


# ---- golden vectors (tests/unit/test_chacha_normal.c, table golden) -----------------

# init, seed, name, dtype, mean, std, a, b, numel (a, b unused by normal)
GOLDEN = [
    ('normal', 42, 'weight', 'float32', '0', '1', '0', '0', 4),
    ('normal', 42, 'weight', 'float64', '0', '1', '0', '0', 4),
    ('normal', 42, 'weight', 'float16', '0', '1', '0', '0', 4),
    ('normal', 42, 'weight', 'bfloat16', '0', '1', '0', '0', 4),
    ('normal', 42, 'weight', 'float32', '0', '0.70710678118654757', '0', '0', 4),
    ('normal', 0, '', 'float32', '0', '0.02', '0', '0', 32000),
    ('normal', 18446744073709551615, 'tok_embeddings.weight', 'float64', '0.5', '2', '0', '0',
     4097),
    ('normal', 1, '\u00e9\u00e8', 'float16', '-1', '0.1', '0', '0', 1000),
    ('normal', 2, 'layers.0.attention.wq.weight', 'bfloat16', '0', '0.03125', '0', '0', 65536),
    ('truncated_normal', 42, 'weight', 'float32', '0', '1', '-2', '2', 4),
    ('truncated_normal', 42, 'weight', 'float64', '0', '1', '-2', '2', 4),
    ('truncated_normal', 7, 'vit', 'bfloat16', '0', '0.02', '-0.04', '0.04', 4096),
    ('truncated_normal', 3, 'tail', 'float64', '0', '1', '6', '8', 4096),
    ('truncated_normal', 3, 'tail', 'float32', '0', '1', '-8', '-6', 4096),
    ('truncated_normal', 4, 'deep', 'float64', '0', '1', '25', '1e300', 1024),
    ('truncated_normal', 5, 'far', 'float64', '0', '1', '40', '41', 1024),
    ('truncated_normal', 9, 'narrow', 'float64', '0', '1', '0.5', '0.50000000000000011', 64),
    ('truncated_normal', 11, 'onesided', 'float16', '1', '0.5', '1', '100', 2048),
    ('truncated_normal', 13, 'mix', 'float32', '0', '1', '-0.5', '30', 2048),
    ('truncated_normal', 17, 'shifted', 'float32', '3', '0.25', '-1', '3.5', 2048),
]


def golden_rows():
    for init, seed, name, dtype, mean, std, a, b, numel in GOLDEN:
        kw = dict(mean=float(mean), std=float(std), a=float(a), b=float(b))
        raw = tensor(init, seed, name.encode('utf-8'), dtype, numel, **kw)
        size = len(raw) // numel
        first = ['"%0*X"' % (2 * size, int.from_bytes(raw[i * size:(i + 1) * size], 'little'))
                 for i in range(min(4, numel))]
        first += ['""'] * (4 - len(first))
        cname = name.encode('utf-8').decode('ascii', 'backslashreplace') if False else \
            ''.join(c if ord(c) < 128 else ''.join('\\x%02x' % x for x in c.encode()) for c in name)
        print('    {"%s", UINT64_C(%d), "%s", GP_%s, %s, %s, %s, %s, %d, {%s},\n     "%s"},' % (
            init, seed, cname, dtype.upper(), mean, std, a, b, numel, ', '.join(first),
            hashlib.sha256(raw).hexdigest()))


# ---- command line -------------------------------------------------------------------


def parse(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument('cmd', choices=['sha256', 'values', 'golden'])
    ap.add_argument('--init', default='normal', choices=['normal', 'truncated_normal'])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--name', default='weight')
    ap.add_argument('--dtype', default='float32',
                    choices=['float32', 'float16', 'bfloat16', 'float64'])
    ap.add_argument('--count', type=int, default=4)
    ap.add_argument('--first', type=int, default=0)
    for p, d in (('mean', 0.0), ('std', 1.0), ('a', -2.0), ('b', 2.0)):
        ap.add_argument('--' + p, type=float, default=d)
    return ap.parse_args(argv)


def main(argv):
    o = parse(argv)
    kw = dict(mean=o.mean, std=o.std, a=o.a, b=o.b)
    name = o.name.encode('utf-8')
    if o.cmd == 'sha256':
        print(hashlib.sha256(tensor(o.init, o.seed, name, o.dtype, o.count, **kw)).hexdigest())
    elif o.cmd == 'golden':
        golden_rows()
    elif o.cmd == 'values':
        vals = values(o.init, o.seed, name, o.count, first=o.first, **kw)
        raw = encode(vals, o.dtype)
        size = len(raw) // o.count
        for i, v in enumerate(vals):
            el = int.from_bytes(raw[i * size:(i + 1) * size], 'little')
            print('%d %0*X %.17g' % (o.first + i, 2 * size, el, v))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
