"""bench/report.py - turn bench/run.sh's raw figures into bench/RESULTS.md.

    report.py environment.tsv results.tsv > RESULTS.md

results.tsv lines: section, name, metric, value (one per run, except the
kernel figures, which bench_kernels already reduces to median, min, max).
Ratios between two contenders are taken run by run (run i of one against
run i of the other, measured seconds apart), then summarised as median and
min-max, so machine-wide slowdowns cancel out as far as they can."""
import statistics
import sys
from collections import defaultdict

MIB = 1024 * 1024


def load(path):
    data = defaultdict(list)
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4 or parts[3] == "":
                continue
            try:
                data[(parts[0], parts[1], parts[2])].append(float(parts[3]))
            except ValueError:
                pass
    return data


def med(xs):
    return statistics.median(xs) if xs else None


def span(xs, fmt):
    if not xs:
        return "-"
    return (fmt + " (" + fmt + "-" + fmt + ")") % (med(xs), min(xs), max(xs))


def ratios(a, b, invert=False):
    """Run-by-run a/b (or b/a), over the runs both have."""
    n = min(len(a), len(b))
    out = []
    for x, y in zip(a[:n], b[:n]):
        if x > 0 and y > 0:
            out.append(y / x if invert else x / y)
    return out


class Report:
    def __init__(self, env, data):
        self.env, self.d, self.out, self.targets = env, data, [], []

    def p(self, line=""):
        self.out.append(line)

    def get(self, section, name, metric):
        return self.d.get((section, name, metric), [])

    def target(self, what, goal, measured, met, why):
        self.targets.append((what, goal, measured, met, why))

    # ---- sections ----------------------------------------------------------------------

    def stream(self):
        base = self.get("stream", "nginx-sendfile-off", "B_s")
        if not base:
            return
        self.p("## 1. One large stream: 1 GiB to `curl -o /dev/null`")
        self.p()
        self.p("| server | GB/s median (min-max) | ratio to nginx sendfile off, run by run |")
        self.p("|---|---|---|")
        names = ["nginx-sendfile-off", "nginx-sendfile-on", "chacha20-float32", "mlx-float32",
                 "chacha20-bfloat16", "mlx-bfloat16", "normal-chacha20-float32",
                 "normal-mlx-float32"]
        for n in names:
            xs = [v / 1e9 for v in self.get("stream", n, "B_s")]
            r = ratios(self.get("stream", n, "B_s"), base)
            if not xs:
                continue
            label = n if n.startswith("nginx") else "glorotd " + n
            if n.startswith("normal-"):
                label = "glorotd glorot_normal " + n[len("normal-"):]
            self.p("| %s | %s | %s |" % (label, span(xs, "%.2f"), span(r, "%.2f")))
        self.p()
        for alg in ("chacha20", "mlx"):
            r = ratios(self.get("stream", alg + "-float32", "B_s"), base)
            if r:
                self.target("large stream, %s float32" % alg, ">= 0.9x nginx (sendfile off)",
                            "%.2fx" % med(r), med(r) >= 0.9, WHY["stream"])
            r = ratios(self.get("stream", "normal-%s-float32" % alg, "B_s"),
                       self.get("stream", alg + "-float32", "B_s"))
            if r:
                self.target("1 GiB glorot_normal vs glorot_uniform stream, %s float32" % alg,
                            ">= 0.8x", "%.2fx" % med(r), med(r) >= 0.8, WHY["normal"])

    def small(self):
        rows = [("nginx-1k", None), ("glorotd-16x16", "nginx-1k"),
                ("glorotd-8k-16x16", "nginx-1k"), ("nginx-256k", None),
                ("glorotd-256x256-chacha20", "nginx-256k"), ("glorotd-256x256-mlx", "nginx-256k")]
        if not self.get("small", "nginx-1k", "rps"):
            return
        self.p("## 2. Small requests: `wrk -t2 -c32 -d3s --latency`")
        self.p()
        self.p("| target | requests/s median (min-max) | p99 ms median (min-max) "
               "| ratio to nginx, same size | non-2xx |")
        self.p("|---|---|---|---|---|")
        for name, ref in rows:
            rps = self.get("small", name, "rps")
            r = ratios(rps, self.get("small", ref, "rps")) if ref else []
            bad = sum(self.get("small", name, "non2xx"))
            self.p("| %s | %s | %s | %s | %d |" % (
                LABELS.get(name, name), span(rps, "%.0f"),
                span(self.get("small", name, "p99_ms"), "%.2f"), span(r, "%.2f") if ref else "-",
                bad))
            if ref and r and name != "glorotd-8k-16x16":
                self.target("small requests, " + LABELS.get(name, name),
                            ">= 0.8x nginx requests/s", "%.2fx" % med(r), med(r) >= 0.8,
                            WHY["small-256k" if "256" in name else "small-1k"])
        self.p()

    def pinned(self):
        rows = [("nginx-1k", None), ("glorotd-16x16", "nginx-1k"), ("nginx-256k", None),
                ("glorotd-256x256-chacha20", "nginx-256k"), ("glorotd-256x256-mlx", "nginx-256k")]
        if not self.get("pinned", "nginx-1k", "rps"):
            return
        self.p("## 2b. Small requests, one server core: server on core 0, "
               "`taskset -c 1 wrk -t1 -c16 -d3s`")
        self.p()
        self.p("One glorotd thread, one nginx worker, both pinned to core 0; the client alone on "
               "core 1. The server's core is the bottleneck, so these ratios compare what each "
               "server spends per request, without the scheduler sharing two cores between "
               "servers and client as in section 2 (the configuration the targets name).")
        self.p()
        self.p("| target | requests/s median (min-max) | ratio to nginx, same size |")
        self.p("|---|---|---|")
        for name, ref in rows:
            rps = self.get("pinned", name, "rps")
            r = ratios(rps, self.get("pinned", ref, "rps")) if ref else []
            self.p("| %s | %s | %s |" % (LABELS.get(name, name), span(rps, "%.0f"),
                                         span(r, "%.2f") if ref else "-"))
        self.p()

    def local(self):
        names = ["client-%s-%s" % (mode, alg) for alg in ("chacha20", "mlx")
                 for mode in ("fetch", "fetch-huge", "generate", "generate-huge")]
        names += ["numpy-random", "numpy-uniform", "torch-xavier"]
        if not any(self.get("local", n, "s") for n in names):
            return
        self.p("## 3. 256 MiB float32 (8192 x 8192) into memory")
        self.p()
        self.p("Every run allocates a fresh buffer or array and fills it. `huge pages`: a 2 MiB "
               "aligned buffer with madvise(MADV_HUGEPAGE), as numpy's allocator does for "
               "arrays of 4 MiB and more (transparent huge pages are `madvise` here).")
        self.p()
        self.p("| how | seconds median (min-max) | GB/s (median) |")
        self.p("|---|---|---|")
        for n in names:
            xs = self.get("local", n, "s")
            if xs:
                self.p("| %s | %s | %.2f |" % (LABELS.get(n, n), span(xs, "%.3f"),
                                                256 * MIB / med(xs) / 1e9))
        self.p()
        for alg in ("chacha20", "mlx"):
            for mode, how in (("fetch", "malloc"), ("fetch-huge", "huge pages")):
                mine = self.get("local", "client-%s-%s" % (mode, alg), "s")
                for other in ("numpy-uniform", "torch-xavier"):
                    theirs = self.get("local", other, "s")
                    if mine and theirs:
                        speedup = med(theirs) / med(mine)
                        self.target("fetch 256 MiB (%s, %s) vs %s" % (alg, how, LABELS[other]),
                                    "faster", "%.2fx as fast" % speedup, speedup > 1,
                                    WHY["local"])

    def kernels(self):
        keys = sorted({k[1] for k in self.d if k[0] == "kernel" and not k[1].startswith("ceiling")})
        if not keys:
            return
        self.p("## 4. Generator kernels, one core: million elements/s")
        self.p()
        self.p("Median of the runs (min-max). `-stream`: chunks of a large tensor, as the daemon "
               "streams it (each Threefry block serves one of its two words); `-whole`: a "
               "256 KiB tensor per fill (each block serves both). `threefry`: MLX's raw words "
               "through gpi_mlx_words (the daemon's job structure, words copied out of a "
               "staging block); `threefry-kernel`: the vector Threefry alone, storing MLX's "
               "words in place; `threefry-1ctr`: one counter per gpi_threefry2x32 call, the "
               "scalar code. The `scalar` kernel set is portable C, which GCC -O2 "
               "auto-vectorises with SSE2 (4 lanes): `vs scalar` compares wide kernels with "
               "that baseline, not with scalar code. `threefry-*` rows compare with "
               "`threefry-1ctr`.")
        self.p()
        self.p("| kind | dtype | kernels | Melem/s | GB/s | vs scalar |")
        self.p("|---|---|---|---|---|---|")
        order = {"scalar": 0, "avx2": 1, "avx512": 2}

        def sort_key(k):
            what, simd, dtype = k.split("/")
            return (what, dtype, order.get(simd, 9))

        def rate(k):
            v = self.get("kernel", k, "Melem_s")
            return v[0] if v else None
        one = rate("threefry-1ctr/scalar/raw")
        for k in sorted(keys, key=sort_key):
            what, simd, dtype = k.split("/")
            m = self.get("kernel", k, "Melem_s")
            lo, hi = self.get("kernel", k, "min"), self.get("kernel", k, "max")
            sc = rate("%s/scalar/%s" % (what, dtype))
            if what.startswith("threefry"):
                sc = one
            rel = "%.2fx" % (m[0] / sc) if sc and simd in order and m else "-"
            if what in ("memcpy", "libsodium-chacha20"):
                simd = "-"
            self.p("| %s | %s | %s | %.0f (%.0f-%.0f) | %.2f | %s |" % (
                what, dtype, simd, m[0], lo[0], hi[0],
                self.get("kernel", k, "GB_s")[0], rel))
        self.p()
        self.ceiling(rate)

        for simd, goal in (("avx512", 8), ("avx2", 4)):
            v = rate("threefry-kernel/%s/raw" % simd)
            if v and one:
                self.target("mlx Threefry, %s kernel vs one counter at a time" % simd,
                            ">= %dx scalar" % goal, "%.2fx" % (v / one), v / one >= goal,
                            WHY["threefry"])
        v, s = rate("keystream/avx512/raw"), rate("libsodium-chacha20/-/raw")
        if v and s:
            self.target("chacha20 keystream, avx512", ">= 3x libsodium", "%.2fx" % (v / s),
                        v / s >= 3, WHY["chacha"] % self.ceiling_text("chacha20-vs-libsodium"))

    def inits(self):
        keys = [k[1] for k in self.d if k[0] == "init" and k[2] == "Melem_s"]
        if not keys:
            return
        self.p("## 4c. Every initializer, one core: million elements/s")
        self.p()
        self.p("bench_inits: gp_gen_fill in 16 Ki-element chunks of a 4096x4096 tensor, the "
               "kernels this CPU runs, rate over the thread's CPU time (per core, not diluted "
               "by other work on the machine). Median of the runs (min-max); `vs uniform`: "
               "against glorot_uniform of the same algorithm and dtype, run by run.")
        self.p()
        self.p("| init | algorithm | dtype | Melem/s | vs uniform |")
        self.p("|---|---|---|---|---|")
        seen = []
        for k in keys:
            if k not in seen:
                seen.append(k)
        worst = {}
        for k in seen:
            init, alg, dtype = k.split("/")
            m = self.get("init", k, "Melem_s")
            lo, hi = self.get("init", k, "min"), self.get("init", k, "max")
            u = self.get("init", "glorot_uniform/%s/%s" % (alg, dtype), "Melem_s")
            rel = m[0] / u[0] if u else None
            if init in ("glorot_normal", "he_normal", "normal", "truncated_normal") and rel:
                worst[alg] = min(worst.get(alg, rel), rel)
            self.p("| %s | %s | %s | %.0f (%.0f-%.0f) | %s |" % (
                init, alg, dtype, m[0], lo[0], hi[0], "%.2fx" % rel if rel else "-"))
        self.p()
        for alg, rel in sorted(worst.items()):
            self.target("normal family vs uniform family, %s (worst init x dtype)" % alg,
                        ">= 0.5x", "%.2fx" % rel, rel >= 0.5, WHY["normal"])
        base = self.get("initstream", "uniform-chacha20", "B_s")
        if not base:
            return
        self.p()
        self.p("1 GiB float32 streams from one glorotd (`--threads 2`) to `curl -o /dev/null`, "
               "interleaved runs: GB/s median (min-max), glorot_normal / glorot_uniform run by "
               "run.")
        self.p()
        self.p("| algorithm | glorot_uniform GB/s | glorot_normal GB/s | normal / uniform |")
        self.p("|---|---|---|---|")
        for alg in ("chacha20", "mlx"):
            u = self.get("initstream", "uniform-" + alg, "B_s")
            n = self.get("initstream", "normal-" + alg, "B_s")
            if not u or not n:
                continue
            r = ratios(n, u)
            self.p("| %s | %s | %s | %s |" % (alg, span([v / 1e9 for v in u], "%.2f"),
                                            span([v / 1e9 for v in n], "%.2f"), span(r, "%.2f")))
            self.target("1 GiB glorot_normal vs glorot_uniform stream, %s float32" % alg,
                        ">= 0.8x", "%.2fx" % med(r), med(r) >= 0.8, WHY["normal"])

    def ceiling_text(self, kind):
        v = self.get("kernel", "ceiling-ratio/avx512/%s" % kind, "Melem_s")
        return "%.2fx" % v[0] if v else "(not measured)"

    def ceiling(self, rate):
        if not self.get("kernel", "ceiling-ops/-/dependent-add-GHz", "Melem_s"):
            return
        self.p("## 4b. What this core can do at best (`bench_kernels ... ceiling`)")
        self.p()
        self.p("The kernels' instruction mixes run as independent chains in inline asm (no "
               "compiler schedule, no loads or stores, latency never limiting): operations per "
               "ns for each register width, and from them, with our kernels' op counts per "
               "block, the best possible rates and ratios. Real kernels sit below these "
               "(stores, transposes, loop control).")
        self.p()
        self.p("| what | kernels | mix | median (min-max) | our kernel, share of the ceiling |")
        self.p("|---|---|---|---|---|")
        ours = {("ceiling-threefry", "scalar"): rate("threefry-1ctr/scalar/raw"),
                ("ceiling-threefry", "avx2"): rate("threefry-kernel/avx2/raw"),
                ("ceiling-threefry", "avx512"): rate("threefry-kernel/avx512/raw"),
                ("ceiling-chacha20", "avx2"): rate("keystream/avx2/raw"),
                ("ceiling-chacha20", "avx512"): rate("keystream/avx512/raw")}
        units = {"ceiling-ops": "ops/ns", "ceiling-threefry": "Melem/s",
                 "ceiling-chacha20": "Melem/s", "ceiling-ratio": "x"}
        for k in sorted(k[1] for k in self.d if k[0] == "kernel" and k[1].startswith("ceiling")
                        and k[2] == "Melem_s"):
            what, simd, mix = k.split("/")
            m = self.get("kernel", k, "Melem_s")[0]
            lo, hi = self.get("kernel", k, "min")[0], self.get("kernel", k, "max")[0]
            mine = ours.get((what, simd))
            share = "%.0f%%" % (100 * mine / m) if mine else "-"
            self.p("| %s | %s | %s | %.2f %s (%.2f-%.2f) | %s |" % (
                what, simd, mix, m, units.get(what, ""), lo, hi, share))
        self.p()
        one, ideal = rate("threefry-1ctr/scalar/raw"), rate("ceiling-threefry/scalar/raw")
        z = rate("threefry-kernel/avx512/raw")
        if one and ideal and z:
            self.p("The scalar Threefry call (`threefry-1ctr`) runs at %.0f%% of the best "
                   "scalar code (call, loads and key schedule: ~87 instructions a block "
                   "against 72 ops). Against that ideal scalar rate the AVX-512 kernel is "
                   "%.2fx, where the ports allow %s." % (
                       100 * one / ideal, z / ideal, self.ceiling_text("threefry-vs-scalar")))
            self.p()

    def memory(self):
        idle = self.get("memory", "idle", "KiB")
        if not idle:
            return
        self.p("## 5. The daemon's memory (peak VmRSS, sampled every 10 ms)")
        self.p()
        self.p("| load | peak RSS MiB | above idle MiB |")
        self.p("|---|---|---|")
        self.p("| idle, after one request | %.1f | 0 |" % (idle[0] / 1024))
        worst = 0.0
        ok = self.get("memory", "16x1GiB-streams", "ok")
        for name, label in (("16x1GiB-streams", "16 clients streaming 1 GiB each (%d of 16 "
                             "answered 200)" % (ok[0] if ok else 0)),
                            ("wrk-32-conn-1-elements", "wrk, 32 connections, 1 element"),
                            ("wrk-32-conn-1000000-elements",
                             "wrk, 32 connections, 1 000 000 elements (4 MB)")):
            v = self.get("memory", name, "peak_KiB")
            if v:
                above = (v[0] - idle[0]) / 1024
                worst = max(worst, above)
                self.p("| %s | %.1f | %.1f |" % (label, v[0] / 1024, above))
        self.p()
        self.target("peak RSS under load", "<= 64 MiB above idle", "%.1f MiB" % worst,
                    worst <= 64, WHY["memory"])

    def render(self):
        body_start = len(self.out)
        self.stream()
        self.small()
        self.pinned()
        self.local()
        self.kernels()
        self.memory()
        body = self.out[body_start:]
        self.out = self.out[:body_start]
        self.p("# Benchmark results")
        self.p()
        self.p("Written by `make bench` (bench/run.sh, bench/report.py); raw figures in "
               "bench/results.tsv. How each figure is taken, and the commands to rerun one: "
               "bench/README.md. The machine is shared and noisy: every figure is a median "
               "with min-max over %s runs, and every ratio is taken run by run between "
               "contenders measured seconds apart." % self.env.get("runs", "?"))
        self.p()
        self.p("| | |")
        self.p("|---|---|")
        for k in ("date", "cpu", "cores", "kernel", "simd", "nginx", "curl", "numpy", "torch",
                  "transparent huge pages", "load at start", "load at end"):
            self.p("| %s | %s |" % (k, self.env.get(k, "-")))
        self.p()
        self.p("The load averages (1, 5, 15 min) say how busy the machine was with other work: "
               "above the core count, every figure is depressed and noisier, the kernel "
               "figures (one process on one core) most.")
        self.p()
        self.p("## Targets (issue 10)")
        self.p()
        self.p("| target | goal | measured (median) | verdict |")
        self.p("|---|---|---|---|")
        for what, goal, measured, met, _ in self.targets:
            self.p("| %s | %s | %s | %s |" % (what, goal, measured, "met" if met else "**missed**"))
        self.p()
        missed = [(w, why) for w, _, _, met, why in self.targets if not met]
        if missed:
            self.p("Why the missed targets are missed:")
            self.p()
            seen = set()
            for what, why in missed:
                if why not in seen:
                    seen.add(why)
                    self.p("- **%s**: %s" % (what, why))
            self.p()
        self.out.extend(body)
        return "\n".join(self.out) + "\n"


LABELS = {
    "nginx-1k": "nginx, 1 KiB file", "glorotd-16x16": "glorotd 16x16 float32 (1 KiB)",
    "glorotd-8k-16x16": "glorotd 16x16, --max-header-bytes 8192",
    "nginx-256k": "nginx, 256 KiB file",
    "glorotd-256x256-chacha20": "glorotd 256x256 float32 chacha20 (256 KiB)",
    "glorotd-256x256-mlx": "glorotd 256x256 float32 mlx (256 KiB)",
    "client-fetch-chacha20": "glorot_fetch from glorotd, chacha20, malloc'd buffer",
    "client-fetch-mlx": "glorot_fetch from glorotd, mlx, malloc'd buffer",
    "client-fetch-huge-chacha20": "glorot_fetch from glorotd, chacha20, huge-page buffer",
    "client-fetch-huge-mlx": "glorot_fetch from glorotd, mlx, huge-page buffer",
    "client-generate-chacha20": "glorot_generate in-process, chacha20, malloc'd buffer",
    "client-generate-mlx": "glorot_generate in-process, mlx, malloc'd buffer",
    "client-generate-huge-chacha20": "glorot_generate in-process, chacha20, huge-page buffer",
    "client-generate-huge-mlx": "glorot_generate in-process, mlx, huge-page buffer",
    "numpy-random": "numpy default_rng.random(float32), scaled",
    "numpy-uniform": "numpy default_rng.uniform (float64) -> float32",
    "torch-xavier": "torch nn.init.xavier_uniform_",
}

WHY = {
    "normal": "the normal family computes an inverse normal CDF per element (chacha20: AS241 "
              "with our own logarithm in double, two keystream words per element; mlx: MLX's "
              "float32 erfinv with glibc's logf) where the uniform family does one multiply; "
              "section 4c has the per-core rates",
    "stream": "both servers are bound by the loopback copy and curl's single receiving thread "
              "on two shared cores; glorotd also spends a core-share generating.",
    "small-1k": "per request glorotd does more than nginx's static path: it parses and "
                "validates the query, resolves fans and limits, computes the canonical form "
                "and a BLAKE2b ETag, and sends ~19 headers (libmicrohttpd allocates and "
                "copies each one: ~2 us a request) where nginx sends 7; libmicrohttpd also "
                "clears its connection pool (--max-header-bytes) after every request. "
                "Section 2b shows the cost per request on one core.",
    "small-256k": "the answer must be generated before it is sent: at the chacha20 kernel's "
                  "rate (section 4, float32 on AVX-512) 65536 elements take ~47 us, about "
                  "what nginx spends on its whole 256 KiB request on one core (section 2b), "
                  "and the rest of glorotd's request (the loopback send) costs the same as "
                  "nginx's. Even a kernel at this core's ChaCha20 ceiling (section 4b) would "
                  "leave ~30 us of generation per answer. The mlx generator (Threefry, 2x "
                  "faster per element) meets the target.",
    "local": "the bytes cross loopback (about 2 GB/s to one receiving thread here) into a "
             "fresh buffer whose 4 KiB pages are faulted in one by one on first touch (~40% "
             "of the client's time in perf); numpy's allocator asks for huge pages "
             "(MADV_HUGEPAGE) for large arrays, which the `huge pages` rows do too. With THP "
             "defrag `madvise`, the first touch of such a buffer may compact memory "
             "synchronously, so the huge-page rows (and numpy's large arrays) swing widely "
             "on a busy machine: see their min-max.",
    "threefry": "a Threefry round is add, rotate, xor on 32-bit words. Scalar code runs "
                "them on four ALUs (rotate in one instruction); AVX-512 runs 16 lanes on "
                "two 512-bit ports (ceiling 8.0x an ideal scalar kernel, section 4b); AVX2 "
                "runs 8 lanes on three ports but needs shift, shift, or for a rotate by a "
                "non-multiple of 8 (ceiling 3.9x). The ratios here are to the scalar code as "
                "it is (one counter per call), which reaches ~70% of the ideal scalar rate.",
    "chacha": "ChaCha20 is add, xor and rotate only. AVX-512 runs them on two 512-bit ports "
              "(16 blocks, 1 KiB, per ~1000 ops); libsodium's AVX2 code runs 8 blocks on three "
              "256-bit ports with byte-shuffle rotates. Measured on this core (section 4b), "
              "the best any AVX-512 kernel could do is %s libsodium's rate: 3x is beyond this "
              "CPU. Ours is at about three quarters of that ceiling (the rest: the 16x16 "
              "transpose, stores and the final additions).",
    "memory": "see section 5.",
}


SHARD_LABELS = [
    ("glorotd-batch", "(a) glorotd, one POST /v1/batch (glorot.torch.batch with a client)"),
    ("local-batch", "(b) locally, glorot.torch.batch (glorot_batch_generate)"),
    ("local-generate", "(b') locally, glorot.torch.generate per tensor, shard=(3, 8)"),
    ("megatron-cpu", "(c) Megatron's CPU init: full float32 xavier_uniform_, .to(bf16), split, cut"),
    ("torch-shard", "(d) torch.nn.init.xavier_uniform_ on the shard alone (not equal to any whole)"),
]


def python_shard(env_path, tsv_path):
    """Section 6 from bench/python_shard.{tsv,env.tsv} (bench/python_shard.py drive)."""
    d = load(tsv_path)
    env = {}
    if env_path.exists():
        for line in env_path.read_text().splitlines():
            k, _, v = line.partition("\t")
            env[k] = v
    get = lambda m, k: d.get(("python-shard", m, k), [])  # noqa: E731
    out = ["## 6. One rank's shard of Llama-7B from Python (issue 18)", ""]
    out.append("Every tensor of docs/llama7b_rank3of8.json (226 tensors, rank 3 of 8 along axis 0, "
               "bfloat16, 1.68 GB for this rank), each method in its own process "
               "(bench/python_shard.py; its peak RSS is the process's ru_maxrss, the model's "
               "tensors included, `import torch` included). The three glorot rows give the same "
               "bytes (a complete run checks one SHA-256 over every tensor). Runs: %s, "
               "interleaved; taken %s on %s (%s cores, torch threads %s), load average %s at "
               "start and %s at end."
               % (env.get("runs", "?"), env.get("date", "?"), env.get("cpu", "?"),
                  env.get("cores", "?"), env.get("torch threads", "?"),
                  env.get("load at start", "?"), env.get("load at end", "?")))
    out.append("")
    out.append("| method | seconds median (min-max) | x faster than (c), run by run | "
               "peak RSS MiB median | above `import torch` |")
    out.append("|---|---|---|---|---|")
    meg = get("megatron-cpu", "seconds")
    for key, label in SHARD_LABELS:
        secs = get(key, "seconds")
        if not secs:
            continue
        rss, base = get(key, "peak_rss_mib"), get(key, "baseline_rss_mib")
        r = ratios(meg, secs)
        out.append("| %s | %s | %s | %.0f | %s |" % (
            label, span(secs, "%.2f"), span(r, "%.1f") if key != "megatron-cpu" else "1.0",
            med(rss), "%.0f" % (med(rss) - med(base)) if base else "-"))
    out.append("")
    if env.get("note"):
        out.append(env["note"])
        out.append("")
    return "\n".join(out) + "\n"


def inits_section(env_path, tsv_path):
    env = {}
    with open(env_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            env[k] = v
    r = Report(env, load(tsv_path))
    r.p("Measured %s on %s (kernels: %s), %s runs, load average %s." % (
        env.get("date", "-"), env.get("cpu", "-"), env.get("simd", "-"), env.get("runs", "-"),
        env.get("load", "-")))
    r.p()
    r.inits()
    r.p("Targets (issue 16):")
    r.p()
    r.p("| target | goal | measured | verdict |")
    r.p("|---|---|---|---|")
    for what, goal, measured, met, _ in r.targets:
        r.p("| %s | %s | %s | %s |" % (what, goal, measured, "met" if met else "**missed**"))
    r.p()
    if any(not met for _, _, _, met, _ in r.targets):
        r.p("Why: " + WHY["normal"] + ".")
    return "\n".join(r.out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py environment.tsv results.tsv")
    env = {}
    with open(sys.argv[1]) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            env[k] = v
    sys.stdout.write(Report(env, load(sys.argv[2])).render())
    # issue 18's row: measured by its own run (bench/python_shard.py), kept beside results.tsv
    import pathlib
    here = pathlib.Path(sys.argv[2]).resolve().parent
    if (here / "python_shard.tsv").exists():
        sys.stdout.write("\n" + python_shard(here / "python_shard.env.tsv", here / "python_shard.tsv"))
    # issue 16's rows: bench_inits and the normal streams, their own run (SECTIONS=inits)
    if (here / "inits.tsv").exists():
        sys.stdout.write("\n" + inits_section(here / "inits.env.tsv", here / "inits.tsv"))


if __name__ == "__main__":
    main()
