#!/usr/bin/python3
"""Statistics of every initializer, from the real generator (`glorot gen`).

For each row (initializer x algorithm x dtype, fixed seed) this draws a
10^6-element tensor with `$GLOROT_BIN gen ... -o FILE` and checks:

  - Kolmogorov-Smirnov (scipy.stats.kstest) against the exact distribution
    (uniform / norm / truncnorm with the parameters the request resolves to),
    p > 1e-3. float16 and bfloat16 values sit on a grid coarser than the KS
    test resolves (1.36 / sqrt(n) ~ 1.4e-3 in CDF), so each 16-bit value v is
    first replaced by a draw (fixed numpy seed) from the exact distribution
    restricted to v's rounding cell (the reals that round to v, cut to the
    support); if the values are right, that sample has exactly the
    continuous distribution.
  - mean and standard deviation within 6 standard errors of the exact ones
    (the errors from the exact variance and kurtosis).
  - min and max: never outside the bounds (uniform: [RNE(low), RNE(high)];
    truncated: [RNE(a), RNE(b)] in the dtype), and where 10^6 samples must
    reach: the CDF at the sample minimum (the lower end of its cell) below
    q = 1 - 0.0005^(1/n) (a fair sampler fails this once in 2000 runs), the
    same for the maximum; and for the normal tails also not too far: the
    CDF at the minimum (upper end of its cell) above 1 - 0.9995^(1/n).

The seeds are fixed, so the outcome is deterministic; they were not chosen
to pass (seed 1000 + row number, once).

    check_stats.py --glorot BIN [--group INIT] [--list] [--perturb]

--perturb asks the generator for parameters 1% off while checking against
the right ones, and exits 0 only when every row failed (the e2e test's
proof that the checks can fail).
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy import stats

N = 1_000_000
P_MIN = 1e-3
SE_MAX = 6.0
Q_FAR = 1.0 - 0.0005 ** (1.0 / N)     # P(all n samples miss a region of mass q) = 0.0005
Q_NEAR = 1.0 - 0.9995 ** (1.0 / N)

DTYPES = ('float32', 'float16', 'bfloat16', 'float64')

# (group, algorithm, init, params, shape, dtypes)
# The distribution each resolves to is computed below exactly as DESIGN-16 /
# MLX's init.py does (Python floats).
ROWS_SPEC = [
    ('glorot_uniform', 'chacha20', 'glorot_uniform', {}, (1000, 1000), DTYPES),
    ('he_uniform', 'chacha20', 'he_uniform', {'gain': '2'}, (1000, 1000), DTYPES),
    ('uniform', 'chacha20', 'uniform', {'low': '-0.5', 'high': '2.5'}, (N,), DTYPES),
    ('glorot_normal', 'chacha20', 'glorot_normal', {}, (1000, 1000), DTYPES),
    ('he_normal', 'chacha20', 'he_normal', {'mode': 'fan_out'}, (500, 2000), DTYPES),
    ('normal', 'chacha20', 'normal', {'mean': '0.5', 'std': '2'}, (N,), DTYPES),
    ('truncated_normal', 'chacha20', 'truncated_normal', {}, (N,), DTYPES),
    ('truncated_normal', 'chacha20', 'truncated_normal',
     {'std': '0.02', 'a': '-0.04', 'b': '0.04'}, (N,), DTYPES),
    ('truncated_normal', 'chacha20', 'truncated_normal',
     {'mean': '1', 'std': '2', 'a': '-1', 'b': '17'}, (N,), DTYPES),
    ('truncated_normal', 'chacha20', 'truncated_normal', {'a': '6', 'b': '100'}, (N,), DTYPES),
    ('truncated_normal', 'chacha20', 'truncated_normal', {'a': '-100', 'b': '-6'}, (N,), DTYPES),
    ('truncated_normal', 'chacha20', 'truncated_normal', {'a': '8', 'b': '8.5'}, (N,),
     ('float32', 'float64')),
    # algorithm=mlx: one row per initializer (MLX's own float32 pipeline).
    ('mlx', 'mlx', 'glorot_uniform', {}, (1000, 1000), ('float32',)),
    ('mlx', 'mlx', 'he_uniform', {'gain': '2'}, (1000, 1000), ('float32',)),
    ('mlx', 'mlx', 'uniform', {'low': '-0.5', 'high': '2.5'}, (N,), ('float32',)),
    ('mlx', 'mlx', 'glorot_normal', {}, (1000, 1000), ('float32',)),
    ('mlx', 'mlx', 'he_normal', {'mode': 'fan_out'}, (500, 2000), ('float32',)),
    ('mlx', 'mlx', 'normal', {'mean': '0.5', 'std': '2'}, (N,), ('float32',)),
    ('mlx', 'mlx', 'truncated_normal', {}, (N,), ('float32',)),
]


def fans(shape):
    """MLX's fan convention (the default `fan`): fan_in = s[-1] * rf, fan_out = s[0] * rf."""
    rf = 1
    for d in shape[1:-1]:
        rf *= d
    return shape[-1] * rf, shape[0] * rf


def distribution(init, p, shape):
    """(kind, scipy frozen distribution, bounds or None)."""
    gain = float(p.get('gain', '1'))
    if init in ('glorot_uniform', 'glorot_normal', 'he_uniform', 'he_normal'):
        fi, fo = fans(shape)
        fan = fo if p.get('mode') == 'fan_out' else fi
    if init == 'glorot_uniform':
        lim = gain * math.sqrt(6.0 / (fi + fo))
        return 'uniform', stats.uniform(-lim, 2 * lim), (-lim, lim)
    if init == 'he_uniform':
        lim = gain * math.sqrt(3.0 / fan)
        return 'uniform', stats.uniform(-lim, 2 * lim), (-lim, lim)
    if init == 'uniform':
        lo, hi = float(p.get('low', '0')), float(p.get('high', '1'))
        return 'uniform', stats.uniform(lo, hi - lo), (lo, hi)
    if init == 'glorot_normal':
        return 'normal', stats.norm(0.0, gain * math.sqrt(2.0 / (fi + fo))), None
    if init == 'he_normal':
        return 'normal', stats.norm(0.0, gain / math.sqrt(fan)), None
    mean, std = float(p.get('mean', '0')), float(p.get('std', '1'))
    if init == 'normal':
        return 'normal', stats.norm(mean, std), None
    a, b = float(p.get('a', '-2')), float(p.get('b', '2'))
    return 'truncated', stats.truncnorm((a - mean) / std, (b - mean) / std, mean, std), (a, b)


def rows():
    out = []
    for group, alg, init, p, shape, dtypes in ROWS_SPEC:
        for dt in dtypes:
            out.append(dict(group=group, alg=alg, init=init, p=p, shape=shape, dtype=dt,
                            seed=1000 + len(out)))
    return out


# ---- dtype grids ------------------------------------------------------------------------


def decode(raw, dtype):
    if dtype == 'float64':
        return np.frombuffer(raw, '<f8').astype(np.float64)
    if dtype == 'float32':
        return np.frombuffer(raw, '<f4').astype(np.float64)
    if dtype == 'float16':
        return np.frombuffer(raw, '<f2').astype(np.float64)
    b = np.frombuffer(raw, '<u2').astype(np.uint32) << 16
    return b.view(np.float32).astype(np.float64)


def round_to(x, dtype):
    """RNE_T(RNE_f32(x)) of a Python float, as a float."""
    f = np.float32(x)
    if dtype == 'float64':
        return float(x)
    if dtype == 'float32':
        return float(f)
    if dtype == 'float16':
        return float(np.float16(f))
    u = int(np.array([f]).view(np.uint32)[0])
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return float(np.array([u << 16], np.uint32).view(np.float32)[0])


def neighbours(v, dtype):
    """The next lower and higher values of the dtype (as float64 arrays)."""
    if dtype in ('float64', 'float32', 'float16'):
        t = {'float64': np.float64, 'float32': np.float32, 'float16': np.float16}[dtype]
        x = v.astype(t)
        return (np.nextafter(x, t(-np.inf)).astype(np.float64),
                np.nextafter(x, t(np.inf)).astype(np.float64))
    bits = (v.astype(np.float32).view(np.uint32) >> 16).astype(np.int64)
    mag = bits & 0x7FFF
    neg = (bits & 0x8000) != 0
    up = np.where(neg, np.where(mag == 0, 0x0001, bits - 1), bits + 1)     # toward +inf
    dn = np.where(neg, bits + 1, np.where(mag == 0, 0x8001, bits - 1))     # toward -inf

    def f(b):
        return (b.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return f(dn), f(up)


def cells(v, dtype, bounds):
    """Each value's rounding cell [lo, hi] (midpoints to its neighbours), cut
    to the distribution's support: a value on a bound only gets the half cell
    inside."""
    dn, up = neighbours(v, dtype)
    lo, hi = (v + dn) / 2.0, (v + up) / 2.0
    if bounds is not None:
        lo, hi = np.maximum(lo, bounds[0]), np.minimum(hi, bounds[1])
    return lo, hi


def spread(dist, lo, hi, u):
    """A draw from dist conditioned on each value's cell [lo, hi]: the
    distribution of X given RNE_T(X) = v, so the result is distributed as X
    exactly when the values are. (Uniform within the cell where the cell's
    mass underflows.)"""
    flo, fhi = dist.cdf(lo), dist.cdf(hi)
    ok = fhi > flo
    s = lo + u * (hi - lo)
    s[ok] = dist.ppf(flo[ok] + u[ok] * (fhi[ok] - flo[ok]))
    return np.clip(s, lo, hi)


# ---- the checks -----------------------------------------------------------------------------


def perturbed(init, p):
    """The parameters one percent off (the scale, or the upper bound)."""
    q = dict(p)
    if init in ('normal', 'truncated_normal'):
        q['std'] = repr(float(p.get('std', '1')) * 1.01)
    elif init == 'uniform':
        q['high'] = repr(float(p.get('high', '1')) * 1.01)
    else:
        q['gain'] = repr(float(p.get('gain', '1')) * 1.01)
    return q


def generate(glorot, r, path):
    cmd = [glorot, 'gen', '--init', r['init'], '--algorithm', r['alg'],
           '--shape', ','.join(str(d) for d in r['shape']), '--seed', str(r['seed']),
           '--dtype', r['dtype'], '-o', path]
    for k, v in sorted(r.get('asked', r['p']).items()):
        cmd += ['--' + k, v]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(cmd), res.returncode, res.stderr.strip()))
    with open(path, 'rb') as f:
        return f.read()


def check_row(glorot, r, tmp):
    kind, dist, bounds = distribution(r['init'], r['p'], r['shape'])
    raw = generate(glorot, r, os.path.join(tmp, 't.bin'))
    v = decode(raw, r['dtype'])
    errs = []
    if v.size != N:
        return ['%d elements, want %d' % (v.size, N)]
    if not np.all(np.isfinite(v)):
        return ['non-finite values']
    lo_cell, hi_cell = cells(v, r['dtype'], bounds)
    if r['dtype'] in ('float16', 'bfloat16'):
        sample = spread(dist, lo_cell, hi_cell, np.random.default_rng(r['seed']).random(N))
    else:
        sample = v
    ks = stats.kstest(sample, dist.cdf)
    if not ks.pvalue > P_MIN:
        errs.append('KS D=%.3g p=%.3g' % (ks.statistic, ks.pvalue))

    m, var, _, kurt = (float(x) for x in dist.stats(moments='mvsk'))
    sd = math.sqrt(var)
    se_mean = sd / math.sqrt(N)
    se_sd = sd * math.sqrt((kurt + 2.0) / (4.0 * N))
    if abs(v.mean() - m) > SE_MAX * se_mean:
        errs.append('mean %.9g, want %.9g +- %.3g' % (v.mean(), m, SE_MAX * se_mean))
    if abs(v.std() - sd) > SE_MAX * se_sd + sd * 1e-6:
        errs.append('std %.9g, want %.9g +- %.3g' % (v.std(), sd, SE_MAX * se_sd))

    i_min, i_max = int(np.argmin(v)), int(np.argmax(v))
    if bounds is not None:
        blo, bhi = round_to(bounds[0], r['dtype']), round_to(bounds[1], r['dtype'])
        if v[i_min] < blo or v[i_max] > bhi:
            errs.append('range [%.9g, %.9g] outside [%.9g, %.9g]' % (v[i_min], v[i_max], blo, bhi))
    if not dist.cdf(lo_cell[i_min]) <= Q_FAR:
        errs.append('min %.9g: CDF %.3g, too far from the lower end' % (v[i_min],
                                                                       dist.cdf(lo_cell[i_min])))
    if not dist.sf(hi_cell[i_max]) <= Q_FAR:
        errs.append('max %.9g: upper tail %.3g, too far from the upper end' %
                    (v[i_max], dist.sf(hi_cell[i_max])))
    if kind == 'normal':
        if not dist.cdf(hi_cell[i_min]) >= Q_NEAR:
            errs.append('min %.9g: CDF %.3g, too deep in the tail' % (v[i_min],
                                                                      dist.cdf(hi_cell[i_min])))
        if not dist.sf(lo_cell[i_max]) >= Q_NEAR:
            errs.append('max %.9g: upper tail %.3g, too deep' % (v[i_max],
                                                                 dist.sf(lo_cell[i_max])))
    print('%-6s %-8s %-16s %-30s %-8s KS p=%.3f mean %+.6g std %.6g min %+.6g max %+.6g %s' % (
        'ok' if not errs else 'FAIL', r['alg'], r['init'],
        ','.join('%s=%s' % kv for kv in sorted(r['p'].items())) or '-', r['dtype'], ks.pvalue,
        v.mean(), v.std(), v[i_min], v[i_max], '; '.join(errs)), flush=True)
    return errs


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument('--glorot', default=os.environ.get('GLOROT_BIN', 'glorot'))
    ap.add_argument('--group', help='only the rows of this group (an init name, or mlx)')
    ap.add_argument('--list', action='store_true', help='print the groups and exit')
    ap.add_argument('--perturb', action='store_true',
                    help='self-test: ask for parameters 1%% off; every row must then fail')
    o = ap.parse_args(argv)
    todo = rows()
    if o.perturb:
        for r in todo:
            r['asked'] = perturbed(r['init'], r['p'])
    if o.list:
        print('\n'.join(sorted({r['group'] for r in todo})))
        return 0
    if o.group:
        todo = [r for r in todo if r['group'] == o.group]
        if not todo:
            print('no rows in group %s' % o.group)
            return 2
    failed = broken = 0
    with tempfile.TemporaryDirectory(prefix='glorot-stats-') as tmp:
        for r in todo:
            try:
                if check_row(o.glorot, r, tmp):
                    failed += 1
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                broken += 1
                print('ERROR  %-8s %-16s %-8s %s' % (r['alg'], r['init'], r['dtype'], e))
    print('%d of %d rows failed, %d could not be generated' % (failed, len(todo), broken))
    if o.perturb:   # every row must have been generated, and then fail a check
        ok = len(todo) > 0 and broken == 0 and failed == len(todo)
        print('perturbed: %s' % ('every row failed, as it must' if ok else
                                 'some rows passed with wrong parameters or were not generated'))
        return 0 if ok else 1
    return 1 if failed or broken else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
