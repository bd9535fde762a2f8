#!/usr/bin/python3
"""Accuracy of chacha20 v1's normal family (docs/ALGORITHM.md 3.7.5) against
mpmath, through the bit-exact Python reference (ref_chacha_normal.py, which
the unit test proves equal to the C code). Fixed seeds; exits 1 when an
error exceeds its bound (the bounds are a few times the measured maxima).
"""
import os
import random
import sys

import mpmath as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_chacha_normal as R  # noqa: E402

mp.mp.prec = 160
SQRT2 = mp.sqrt(2)


def q_exact(x):
    return mp.erfc(mp.mpf(x) / SQRT2) / 2


def z_exact(u):
    """Phi^-1 of the exact probability of word u (3.7.2)."""
    s, v = u >> 63, u & R.M63
    q = mp.mpf(2 * v + 1) / mp.mpf(2) ** 65
    t = SQRT2 * mp.erfinv(1 - 2 * q)
    return -t if s else t


def trunc_exact(al, be, u):
    """Bisection on the exact truncated CDF (tail-safe forms)."""
    s, v = u >> 63, u & R.M63
    q = mp.mpf(2 * v + 1) / mp.mpf(2) ** 65
    p = q if s else 1 - q
    if al >= 0:
        qa, qb = q_exact(al), q_exact(be)

        def f(z):
            return (qa - q_exact(z)) / (qa - qb) - p
    elif be <= 0:
        pa, pb = q_exact(-al), q_exact(-be)

        def f(z):
            return (q_exact(-z) - pa) / (pb - pa) - p
    else:
        pa, pb = q_exact(-al), 1 - q_exact(be)

        def f(z):
            return (1 - q_exact(z) - pa) / (pb - pa) - p
    lo, hi = mp.mpf(al), mp.mpf(be)
    for _ in range(120):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def rel(a, b):
    return float(abs((mp.mpf(a) - b) / b))


def main():
    rng = random.Random(16)
    worst = {}

    def note(key, err):
        worst[key] = max(worst.get(key, 0.0), err)

    for _ in range(3000):
        x = float(mp.exp(rng.uniform(-744, 0)))
        if x > 0:
            note('ln', rel(R.glog(x), mp.log(x)))
        y = rng.uniform(-708, 0)
        note('exp', rel(R.gexp(y), mp.exp(y)))
    for _ in range(1500):
        x = rng.uniform(0, 37.4)
        h, q = R.hq(x)
        note('Q', rel(q, q_exact(x)))
        if x > 0:
            note('H', rel(h, mp.erf(mp.mpf(x) / SQRT2) / 2))
    words = [rng.getrandbits(64) for _ in range(1500)]
    for e in range(63):   # every magnitude of the tail, both signs
        v = rng.getrandbits(e) if e else 0
        words += [v, v | (1 << 63)]
    words += [0, 1 << 63, R.M63]
    for u in words:
        note('z', rel(R.std_normal(u), z_exact(u)))
    for al, be in [(-2, 2), (0, 1), (1, 2), (-2, -1), (6, 8), (-8, -6), (3, 30), (-0.1, 9),
                   (8, 8.0001), (20, 21), (35, 36), (-36, -35), (36.99, 36.995)]:
        tr = R.Trunc(0.0, 1.0, float(al), float(be))
        for u in [rng.getrandbits(64) for _ in range(40)] + [0, 1, R.M63, 1 << 63]:
            z, ze = tr.z(u), trunc_exact(al, be, u)
            note('trunc abs', float(abs(z - ze)))
            if abs(ze) > 0.1:
                note('trunc rel', rel(z, ze))
    for al, be in [(37.5, 38), (50, 60)]:
        tr = R.Trunc(0.0, 1.0, float(al), float(be))
        for u in [rng.getrandbits(64) for _ in range(20)] + [0, 1 << 63]:
            note('far abs', float(abs(tr.z(u) - trunc_exact(al, be, u))))

    bounds = {'ln': 1e-15, 'exp': 1e-15, 'Q': 2e-13, 'H': 4e-15, 'z': 4e-15,
              'trunc rel': 1e-14, 'trunc abs': 1e-13, 'far abs': 1e-3}
    bad = 0
    for k, b in bounds.items():
        ok = worst[k] <= b
        bad += not ok
        print('%-10s max error %.3g (bound %.0e) %s' % (k, worst[k], b, 'ok' if ok else 'FAIL'))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
