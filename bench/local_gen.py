"""bench/local_gen.py - generate a Glorot-uniform float32 tensor in-process
with the libraries training code uses, seconds per run, one line per run:
    local_gen.py numpy-random|numpy-uniform|torch-xavier ROWS COLS RUNS
numpy-random:  default_rng(seed).random(n, dtype=float32), scaled in place
               to [-limit, limit) (two more passes, float32)
numpy-uniform: default_rng(seed).uniform(-limit, limit, n) (float64, numpy
               has no float32 uniform) cast to float32
torch-xavier:  torch.empty(rows, cols); nn.init.xavier_uniform_ (torch's
               default thread count)
Each run allocates a fresh array, like bench_fetch."""
import math
import sys
import time


def numpy_random(rows, cols):
    import numpy as np
    limit = np.float32(math.sqrt(6.0 / (rows + cols)))
    x = np.random.default_rng(1).random(rows * cols, dtype=np.float32)
    x *= np.float32(2) * limit
    x -= limit
    return x


def numpy_uniform(rows, cols):
    import numpy as np
    limit = math.sqrt(6.0 / (rows + cols))
    return np.random.default_rng(1).uniform(-limit, limit, rows * cols).astype(np.float32)


def torch_xavier(rows, cols):
    import torch
    torch.manual_seed(1)
    w = torch.empty(rows, cols, dtype=torch.float32)
    torch.nn.init.xavier_uniform_(w)
    return w


KINDS = {"numpy-random": numpy_random, "numpy-uniform": numpy_uniform,
         "torch-xavier": torch_xavier}


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in KINDS:
        sys.exit("usage: local_gen.py %s ROWS COLS RUNS" % "|".join(KINDS))
    fn = KINDS[sys.argv[1]]
    rows, cols, runs = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    fn(16, 16)  # import and warm up outside the timing
    for _ in range(runs):
        t0 = time.perf_counter()
        x = fn(rows, cols)
        t = time.perf_counter() - t0
        assert x.dtype.itemsize == 4 if hasattr(x.dtype, "itemsize") else True
        del x
        print("%.4f" % t, flush=True)


if __name__ == "__main__":
    main()
