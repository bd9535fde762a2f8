"""bench/python_shard.py - one rank's shard of a Llama-7B-shaped model from Python.

Every tensor of docs/llama7b_rank3of8.json (rank 3 of 8 along axis 0,
bfloat16, glorot_uniform with torch fans), obtained five ways, each in its own
process (so each peak RSS is that method's alone):

  glorotd-batch   glorot.torch.batch(manifest, client=...): one POST /v1/batch
  local-batch     glorot.torch.batch(manifest): glorot_batch_generate in-process
  local-generate  glorot.torch.generate(...) per tensor, with shard=(3, 8)
  megatron-cpu    Megatron-LM's CPU path (megatron/core/tensor_parallel/layers.py,
                  _initialize_affine_weight_cpu): a full float32 master per
                  tensor, init_method (torch.nn.init.xavier_uniform_), .to(bf16),
                  torch.split into world pieces, torch.cat(pieces[rank::world], out=weight)
  torch-shard     torch.nn.init.xavier_uniform_ on the bf16 shard alone (fans
                  from the shard's shape: fast, but equal to no unsharded init)

    python_shard.py drive URL RUNS OUT.tsv   all methods, interleaved, RUNS rounds
    python_shard.py METHOD [URL]             one method in this process: prints
                                             seconds, peak RSS (MiB), bytes, digest

Every method keeps all its tensors (the model's memory) until it reports. The
three glorot methods must print the same digest (checked by drive).
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "docs" / "llama7b_rank3of8.json"
METHODS = ["glorotd-batch", "local-batch", "local-generate", "megatron-cpu", "torch-shard"]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_method(method: str, url: str | None) -> None:
    sys.path.insert(0, str(ROOT / "client" / "python"))
    import torch

    import glorot
    import glorot.torch as gt

    manifest = json.loads(MANIFEST.read_text())
    rank, world = manifest["shard"]["rank"], manifest["shard"]["world"]
    assert manifest["shard"]["axis"] == 0 and manifest["dtype"] == "bfloat16"
    seed = int(manifest["seed"])
    gt.generate(shape=(16, 16), seed=1, dtype="bfloat16")  # library loaded before timing
    base = rss_mib()
    t0 = time.perf_counter()
    out = {}
    if method == "glorotd-batch":
        with glorot.Client(url, timeout=600) as c:
            out = gt.batch(manifest, client=c)
    elif method == "local-batch":
        out = gt.batch(manifest)
    elif method == "local-generate":
        for t in manifest["tensors"]:
            out[t["name"]] = gt.generate(
                shape=t["shape"], seed=seed, name=t["name"], dtype="bfloat16",
                algorithm=manifest["algorithm"], fan=manifest["fan"], shard=(rank, world))
    elif method == "megatron-cpu":
        for t in manifest["tensors"]:
            rows, cols = t["shape"]
            weight = torch.empty(rows // world, cols, dtype=torch.bfloat16)
            master = torch.empty(rows, cols, dtype=torch.float)
            torch.nn.init.xavier_uniform_(master)
            master = master.to(dtype=torch.bfloat16)
            pieces = torch.split(master, rows // world, dim=0)
            with torch.no_grad():
                torch.cat(pieces[rank::world], dim=0, out=weight)
            del master, pieces
            out[t["name"]] = weight
    elif method == "torch-shard":
        for t in manifest["tensors"]:
            rows, cols = t["shape"]
            weight = torch.empty(rows // world, cols, dtype=torch.bfloat16)
            torch.nn.init.xavier_uniform_(weight)
            out[t["name"]] = weight
    else:
        sys.exit(f"unknown method {method}")
    seconds = time.perf_counter() - t0
    peak = rss_mib()
    nbytes = sum(v.numel() * v.element_size() for v in out.values())
    h = hashlib.sha256()
    if method.startswith(("glorotd", "local")):
        for name in out:
            h.update(out[name].view(torch.uint8).numpy().tobytes())
    print(json.dumps({"method": method, "seconds": seconds, "peak_rss_mib": peak,
                      "baseline_rss_mib": base, "bytes": nbytes,
                      "digest": h.hexdigest() if method.startswith(("glorotd", "local")) else "",
                      "threads": torch.get_num_threads()}), flush=True)


def drive(url: str, runs: int, out_path: str) -> None:
    """Rounds of every method; each run's figures are written as soon as it ends,
    so a run cut short keeps what it measured."""
    digests = set()
    with open(out_path, "w") as f:
        for r in range(runs):
            for m in METHODS:
                cmd = [sys.executable, __file__, m] + ([url] if m == "glorotd-batch" else [])
                res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True,
                                                timeout=1800).stdout.strip().splitlines()[-1])
                print(f"run {r + 1} {m}: {res['seconds']:.2f} s, peak {res['peak_rss_mib']:.0f} "
                      f"MiB, sha256 {res['digest'] or '-'}", file=sys.stderr, flush=True)
                if res["digest"]:
                    digests.add(res["digest"])
                for k in ("seconds", "peak_rss_mib", "baseline_rss_mib", "bytes"):
                    f.write(f"python-shard\t{m}\t{k}\t{res[k]}\n")
                f.flush()
                if len(digests) > 1:
                    sys.exit(f"the glorot methods disagree: {digests}")


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "drive":
        drive(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) >= 2 and sys.argv[1] in METHODS:
        run_method(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
