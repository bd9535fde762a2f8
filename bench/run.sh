#!/bin/bash
# bench/run.sh - measure glorotd against nginx, numpy and PyTorch on this
# machine, side by side in one run, and write bench/RESULTS.md (through
# bench/report.py) plus the raw figures in bench/results.tsv.
#
#   B=build bench/run.sh          (make bench does this after building)
#
# Environment: B (build dir, default build), RUNS (repetitions per figure,
# default 5), SECTIONS (default "kernels inits stream small pinned local memory python").
# Every step is bounded in time; the whole run takes a few minutes.
# bench/README.md explains each section and gives the commands one by one.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${B:-$ROOT/build}" && pwd)
RUNS=${RUNS:-5}
SECTIONS=${SECTIONS:-kernels inits stream small pinned local memory python}
PY=${GLOROT_PYTHON:-/usr/bin/python3}
GLOROTD=$B/glorotd
WORK=$(mktemp -d /tmp/glorot-bench.XXXXXX)
SHM=$(mktemp -d /dev/shm/glorot-bench.XXXXXX)
chmod 755 "$SHM" # nginx workers run as nobody
RAW=$WORK/raw.tsv
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$SHM" "$WORK"
}
trap cleanup EXIT

note() { printf '== %s\n' "$*" >&2; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RAW"; }

# ---- servers -------------------------------------------------------------------

# start_glorotd NAME [flags...]: glorotd on an ephemeral loopback port, two
# worker threads (the machine's cores; THREADS=1 for one), caps raised so 32
# connections from one address are served; its access log goes to a file,
# like nginx's. PIN="taskset -c 0" runs it on one core.
start_glorotd() {
    local name=$1
    shift
    rm -f "$WORK/$name.port"
    ${PIN:-} "$GLOROTD" --listen 127.0.0.1:0 --port-file "$WORK/$name.port" \
        --threads "${THREADS:-2}" --timeout 0 \
        --max-requests 1024 --max-requests-per-ip 1024 --max-connections-per-ip 1024 \
        --allow-root "$@" >/dev/null 2>"$WORK/$name.log" &
    PIDS+=($!)
    eval "${name}_PID=$!"
    for _ in $(seq 100); do
        [ -s "$WORK/$name.port" ] && break
        sleep 0.05
    done
    eval "${name}_URL=http://127.0.0.1:$(cat "$WORK/$name.port")"
}

stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# start_nginx NAME PORT on|off: Debian's nginx, 2 workers (THREADS=1 for
# one), files from $SHM; PIN as for start_glorotd.
start_nginx() {
    local name=$1 port=$2 sendfile=$3 dir=$WORK/nginx-$1
    mkdir -p "$dir"
    sed -e "s|@DIR@|$dir|g" -e "s|@ROOT@|$SHM|g" -e "s|@PORT@|$port|g" \
        -e "s|@SENDFILE@|$sendfile|g" -e "s|@WORKERS@|${THREADS:-2}|g" \
        "$ROOT/bench/nginx.conf.in" >"$dir/nginx.conf"
    ${PIN:-} nginx -c "$dir/nginx.conf" -e "$dir/error.log" &
    PIDS+=($!)
    eval "${name}_PID=$!"
    eval "${name}_URL=http://127.0.0.1:$port"
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.05
    done
}

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- 4. generator kernels ---------------------------------------------------------

section_kernels() {
    note "kernels: elements/s per core (bench_kernels)"
    "$B/bench/bench_kernels" 0.25 "$RUNS" | tail -n +2 | while IFS=$'\t' read -r what simd dtype med lo hi gbs; do
        record kernel "$what/$simd/$dtype" Melem_s "$med"
        record kernel "$what/$simd/$dtype" min "$lo"
        record kernel "$what/$simd/$dtype" max "$hi"
        record kernel "$what/$simd/$dtype" GB_s "$gbs"
    done
}

# ---- 4c. every initializer ----------------------------------------------------------

# Its own files (bench/inits.tsv, bench/inits.env.tsv), so it can be rerun alone
# (SECTIONS=inits) without replacing the other sections' figures.
section_inits() {
    note "inits: elements/s per core for every initializer (bench_inits), 1 GiB normal vs uniform"
    local out=$WORK/inits.tsv
    : >"$out"
    "$B/bench/bench_inits" 0.25 "$RUNS" | tail -n +2 | while IFS=$'\t' read -r init alg dtype med lo hi; do
        printf 'init\t%s\tMelem_s\t%s\ninit\t%s\tmin\t%s\ninit\t%s\tmax\t%s\n' \
            "$init/$alg/$dtype" "$med" "$init/$alg/$dtype" "$lo" "$init/$alg/$dtype" "$hi" >>"$out"
    done
    start_glorotd gdi
    local -a names=(uniform-chacha20 normal-chacha20 uniform-mlx normal-mlx)
    local -a urls=("$gdi_URL/v1/glorot_uniform?seed=1&shape=16384,16384&algorithm=chacha20"
        "$gdi_URL/v1/glorot_normal?seed=1&shape=16384,16384&algorithm=chacha20"
        "$gdi_URL/v1/glorot_uniform?seed=1&shape=16384,16384&algorithm=mlx"
        "$gdi_URL/v1/glorot_normal?seed=1&shape=16384,16384&algorithm=mlx")
    for r in $(seq "$RUNS"); do # interleaved, as section 1
        for i in "${!names[@]}"; do
            printf 'initstream\t%s\tB_s\t%s\n' "${names[$i]}" "$(curl_rate "${urls[$i]}")" >>"$out"
        done
    done
    stop_pid "$gdi_PID"
    cp "$out" "$ROOT/bench/inits.tsv"
    {
        printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
        printf 'cpu\t%s\n' "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
        printf 'simd\t%s\n' "$("$B/bench/bench_kernels" --simd)"
        printf 'runs\t%s\n' "$RUNS"
        printf 'load\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    } >"$ROOT/bench/inits.env.tsv"
}

# ---- 1. one large stream -------------------------------------------------------------

curl_rate() { # URL -> bytes/s, or nothing on failure
    curl -s --max-time 60 -o /dev/null -w '%{http_code} %{speed_download}\n' "$1" |
        awk '$1 == 200 { print $2 }'
}

section_stream() {
    note "stream: 1 GiB to curl -o /dev/null"
    head -c 1073741824 /dev/urandom >"$SHM/1g.bin"
    start_nginx ngoff "$(free_port)" off
    start_nginx ngon "$(free_port)" on
    start_glorotd gd
    local q="$gd_URL/v1/glorot_uniform?seed=1" n="$gd_URL/v1/glorot_normal?seed=1"
    local -a names=(nginx-sendfile-off nginx-sendfile-on chacha20-float32 mlx-float32
        chacha20-bfloat16 mlx-bfloat16 normal-chacha20-float32 normal-mlx-float32)
    local -a urls=("$ngoff_URL/1g.bin" "$ngon_URL/1g.bin"
        "$q&shape=16384,16384&algorithm=chacha20" "$q&shape=16384,16384&algorithm=mlx"
        "$q&shape=16384,32768&dtype=bfloat16&algorithm=chacha20"
        "$q&shape=16384,32768&dtype=bfloat16&algorithm=mlx"
        "$n&shape=16384,16384&algorithm=chacha20" "$n&shape=16384,16384&algorithm=mlx")
    for r in $(seq "$RUNS"); do # interleaved: each run sees the same machine
        for i in "${!names[@]}"; do
            record stream "${names[$i]}" B_s "$(curl_rate "${urls[$i]}")"
        done
    done
    stop_pid "$ngoff_PID"
    stop_pid "$ngon_PID"
    stop_pid "$gd_PID"
    rm -f "$SHM/1g.bin"
}

# ---- 2. small requests ----------------------------------------------------------------

wrk_run() { # NAME URL: requests/s and p99 latency (ms) of one 3 s wrk run
    local out
    out=$(timeout 20 wrk -t2 -c32 -d3s --latency "$2")
    record small "$1" rps "$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")"
    record small "$1" p99_ms "$(awk '$1 == "99%" { v = $2;
        if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) sub(/ms$/, "", v);
        else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } print v }' <<<"$out")"
    record small "$1" non2xx "$(awk '/Non-2xx/ { print $NF }' <<<"$out")"
}

section_small() {
    note "small: wrk -t2 -c32 on 1 KiB and 256 KiB answers"
    head -c 1024 /dev/urandom >"$SHM/1k.bin"
    head -c 262144 /dev/urandom >"$SHM/256k.bin"
    start_nginx ngoff "$(free_port)" off
    start_glorotd gd
    start_glorotd gd8k --max-header-bytes 8192
    local q="/v1/glorot_uniform?seed=1"
    local -a names=(nginx-1k glorotd-16x16 glorotd-8k-16x16 nginx-256k glorotd-256x256-chacha20
        glorotd-256x256-mlx)
    local -a urls=("$ngoff_URL/1k.bin" "$gd_URL$q&shape=16,16" "$gd8k_URL$q&shape=16,16"
        "$ngoff_URL/256k.bin" "$gd_URL$q&shape=256,256" "$gd_URL$q&shape=256,256&algorithm=mlx")
    for r in $(seq "$RUNS"); do
        for i in "${!names[@]}"; do
            wrk_run "${names[$i]}" "${urls[$i]}"
        done
    done
    stop_pid "$ngoff_PID"
    stop_pid "$gd_PID"
    stop_pid "$gd8k_PID"
}

# ---- 2b. small requests, one server core ------------------------------------------------

# The same answers with the server on core 0 (one glorotd thread, one nginx
# worker) and wrk on core 1: the server's core is the bottleneck, so the
# ratio is the servers' cost per request, without the two sharing cores
# with the client and the scheduler in between.
section_pinned() {
    note "pinned: server on core 0, wrk -t1 -c16 on core 1"
    head -c 1024 /dev/urandom >"$SHM/1k.bin"
    head -c 262144 /dev/urandom >"$SHM/256k.bin"
    PIN="taskset -c 0" THREADS=1 start_nginx ngp "$(free_port)" off
    PIN="taskset -c 0" THREADS=1 start_glorotd gdp
    local q="/v1/glorot_uniform?seed=1" r i out
    local -a names=(nginx-1k glorotd-16x16 nginx-256k glorotd-256x256-chacha20 glorotd-256x256-mlx)
    local -a urls=("$ngp_URL/1k.bin" "$gdp_URL$q&shape=16,16" "$ngp_URL/256k.bin"
        "$gdp_URL$q&shape=256,256" "$gdp_URL$q&shape=256,256&algorithm=mlx")
    for r in $(seq "$RUNS"); do
        for i in "${!names[@]}"; do
            out=$(timeout 20 taskset -c 1 wrk -t1 -c16 -d3s "${urls[$i]}")
            record pinned "${names[$i]}" rps "$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")"
        done
    done
    stop_pid "$ngp_PID"
    stop_pid "$gdp_PID"
}

# ---- 3. against local generation ---------------------------------------------------------

section_local() {
    note "local: 256 MiB float32 (8192 x 8192) into memory"
    start_glorotd gd
    local r alg kind mode
    for r in $(seq "$RUNS"); do # interleaved, one run of each per round
        for alg in chacha20 mlx; do
            for mode in fetch fetch-huge generate generate-huge; do
                timeout 120 "$B/bench/bench_fetch" "$mode" "$gd_URL" "$alg" 8192 8192 1 |
                    while read -r s; do record local "client-$mode-$alg" s "$s"; done
            done
        done
        for kind in numpy-random numpy-uniform torch-xavier; do
            env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE timeout 300 "$PY" \
                "$ROOT/bench/local_gen.py" "$kind" 8192 8192 1 |
                while read -r s; do record local "$kind" s "$s"; done ||
                note "$kind unavailable (python3-numpy / python3-torch not installed?)"
        done
    done
    stop_pid "$gd_PID"
}

# ---- 5. memory -----------------------------------------------------------------------------

kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

# peak_rss PID CMD...: run CMD while sampling PID's VmRSS every 10 ms; print
# the largest sample in KiB. (VmHWM is not used: the kernel updates it lazily.)
peak_rss() {
    local pid=$1 flag=$WORK/sampling
    shift
    : >"$flag"
    (
        peak=0
        while [ -e "$flag" ]; do
            v=$(kib "$pid" VmRSS)
            [ "${v:-0}" -gt "$peak" ] && peak=$v
            sleep 0.01
        done
        echo "$peak" >"$WORK/peak"
    ) &
    local sampler=$!
    "$@" >/dev/null || true
    rm -f "$flag"
    wait "$sampler"
    cat "$WORK/peak"
}

streams16() { # URL: 16 clients at once, 1 GiB each (all must get a 200)
    local -a cpids=()
    for i in $(seq 16); do
        curl -s --max-time 120 -o /dev/null -w '%{http_code}\n' \
            "$1/v1/glorot_uniform?shape=16384,16384&seed=$i" >>"$WORK/streams16" &
        cpids+=($!)
    done
    for p in "${cpids[@]}"; do wait "$p" || true; done
}

section_memory() {
    note "memory: the daemon's peak RSS"
    start_glorotd gd
    local pid=$gd_PID q="$gd_URL/v1/glorot_uniform?seed=1" n
    curl -s -o /dev/null "$q&shape=16,16" # first request: code and libraries paged in
    sleep 0.2
    record memory idle KiB "$(kib "$pid" VmRSS)"
    : >"$WORK/streams16"
    record memory 16x1GiB-streams peak_KiB "$(peak_rss "$pid" streams16 "$gd_URL")"
    record memory 16x1GiB-streams ok "$(grep -c '^200$' "$WORK/streams16")"
    for n in 1 1000000; do
        record memory "wrk-32-conn-$n-elements" peak_KiB \
            "$(peak_rss "$pid" timeout 20 wrk -t2 -c32 -d2s "$q&shape=1,$n")"
    done
    stop_pid "$pid"
}

# ---- 6. one rank's Llama-7B shard from Python (issue 18) ----------------------------------------
# Its own files (bench/python_shard.tsv, .env.tsv), so a run of other sections keeps them.

section_python() {
    note "python: rank 3 of 8 of Llama-7B, bfloat16, five ways (minutes)"
    start_glorotd gd
    local env=$WORK/python_shard.env.tsv
    {
        printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
        printf 'cpu\t%s\n' "$(lscpu | awk -F': +' '/Model name/ { print $2; exit }')"
        printf 'cores\t%s\n' "$(nproc)"
        printf 'torch threads\t%s\n' "$("$PY" -c 'import torch; print(torch.get_num_threads())')"
        printf 'runs\t%s\n' "$RUNS"
        printf 'load at start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    } >"$env"
    # Megatron's way alone took 10-13 minutes a run on a loaded 2-core machine
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE timeout $((RUNS * 1500)) "$PY" \
        "$ROOT/bench/python_shard.py" drive "$gd_URL" "$RUNS" "$WORK/python_shard.tsv" ||
        note "python: cut short; keeping the runs that ended"
    printf 'load at end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$env"
    cp "$WORK/python_shard.tsv" "$env" "$ROOT/bench/"
    stop_pid "$gd_PID"
}

# ---- run ---------------------------------------------------------------------------------------

{
    printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'cpu\t%s\n' "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    printf 'cores\t%s\n' "$(nproc)"
    printf 'kernel\t%s\n' "$(uname -r)"
    printf 'simd\t%s\n' "$("$B/bench/bench_kernels" --simd)"
    printf 'nginx\t%s\n' "$(nginx -v 2>&1 | sed 's|.*/||')"
    printf 'curl\t%s\n' "$(curl --version | awk 'NR == 1 { print $2 }')"
    printf 'numpy\t%s\n' "$("$PY" -c 'import numpy; print(numpy.__version__)' 2>/dev/null || echo -)"
    printf 'torch\t%s\n' "$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo -)"
    printf 'runs\t%s\n' "$RUNS"
    printf 'transparent huge pages\t%s; defrag %s\n' \
        "$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo -)" \
        "$(cat /sys/kernel/mm/transparent_hugepage/defrag 2>/dev/null || echo -)"
    printf 'load at start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$WORK/env.tsv"
: >"$RAW"
for s in $SECTIONS; do "section_$s"; done
printf 'load at end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$WORK/env.tsv"
if [ -s "$RAW" ]; then # SECTIONS=python alone keeps the other sections' figures
    cp "$RAW" "$ROOT/bench/results.tsv"
    cp "$WORK/env.tsv" "$ROOT/bench/environment.tsv"
fi
"$PY" "$ROOT/bench/report.py" "$ROOT/bench/environment.tsv" "$ROOT/bench/results.tsv" \
    >"$ROOT/bench/RESULTS.md"
note "wrote bench/RESULTS.md"
