#!/usr/bin/env bash
# tests/soak/run.sh - a bounded soak on loopback: wrk (mixed GET/POST, every
# format, slices, whole and streamed bodies, each body compared with the
# bytes `glorot gen` computed locally) and the client library (`glorot fetch
# --verify full` of a 4 MiB tensor, `glorot digest` against sha256sum) for
# SOAK_SECONDS, while glorotd's VmRSS is sampled. Fails on any failed or
# wrong answer, or on memory growth between the first fifth of the run and
# the end beyond SOAK_RSS_SLACK_KB (default 16384).
#
#   GLOROTD_BIN=build/glorotd GLOROT_BIN=build/glorot SOAK_SECONDS=300 tests/soak/run.sh
set -euo pipefail
BIN=${GLOROTD_BIN:?}; CLI=${GLOROT_BIN:?}
SECS=${SOAK_SECONDS:-300}; SLACK=${SOAK_RSS_SLACK_KB:-16384}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d); export SOAK_DIR=$TMP
D_PID=
cleanup() { [ -n "$D_PID" ] && kill -KILL "$D_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "soak: FAIL: $*" >&2; exit 1; }

# expected bodies, computed locally by the core library
gen() { local seed=$1; shift; "$CLI" gen --seed "$seed" "$@" -o "$TMP/expected-$seed"; }
gen 101 --shape 16,16
gen 102 --shape 32,64 --dtype float16 --format npy
gen 103 --shape 8,8 --algorithm mlx --format safetensors
gen 104 --shape 4,4 --format json
gen 105 --shape 64,48 --slice 8:24,-16:
gen 106 --shape 256,257 --format npy
gen 107 --shape 16,16 --format npy
gen 108 --shape 2,3 --dtype bfloat16 --algorithm mlx-seeded --call 2

root=(); [ "$(id -u)" = 0 ] && root=(--allow-root)
"$BIN" --listen 127.0.0.1:0 --port-file "$TMP/port" --max-requests-per-ip 64 "${root[@]}" \
  2>"$TMP/daemon.log" &
D_PID=$!
for _ in $(seq 200); do [ -s "$TMP/port" ] && break; sleep 0.1; done
[ -s "$TMP/port" ] || fail "no port file"
URL="http://127.0.0.1:$(cat "$TMP/port")"
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$D_PID/status"; }

# warm-up, then the idle figure
for s in 101 102 103; do curl -sS -o /dev/null "$URL/healthz"; done
echo "soak: ${SECS} s against $URL, idle VmRSS $(rss) kB"

# client library loop: bounded by time and count
(
  end=$((SECONDS + SECS)); i=0
  while [ $SECONDS -lt $end ] && [ $i -lt 100000 ]; do
    seed=$((1000 + i % 50))
    "$CLI" fetch -q --url "$URL" --shape 1024,1024 --seed "$seed" --format npy --verify full \
      -o "$TMP/lib.npy" || { echo "LIB-FAIL fetch seed=$seed"; exit 1; }
    want=$("$CLI" digest -q --url "$URL" --shape 1024,1024 --seed "$seed" --format npy | awk '/^sha256 / {print $2}')
    got=$(sha256sum < "$TMP/lib.npy" | cut -d' ' -f1)
    [ "$want" = "$got" ] || { echo "LIB-FAIL digest seed=$seed"; exit 1; }
    i=$((i + 1))
  done
  echo "SOAK-LIB ok=$i"
) > "$TMP/lib.out" 2>&1 &
LIB_PID=$!

# memory samples every 5 s
(
  end=$((SECONDS + SECS))
  while [ $SECONDS -lt $end ]; do rss; sleep 5; done
) > "$TMP/rss" &
RSS_PID=$!

wrk -t2 -c16 -d"${SECS}s" --timeout 30s -s "$HERE/soak.lua" "$URL" > "$TMP/wrk.out" 2>&1 \
  || { cat "$TMP/wrk.out"; fail "wrk failed"; }
lib_rc=0; wait "$LIB_PID" || lib_rc=$?
wait "$RSS_PID" || true
cat "$TMP/wrk.out" | grep -E 'Requests/sec|Latency|SOAK-WRK|Non-2xx|Socket errors' || true
cat "$TMP/lib.out"
[ "$lib_rc" = 0 ] || fail "client library loop failed"
line=$(grep SOAK-WRK "$TMP/wrk.out") || fail "no wrk summary"
eval "$(echo "$line" | sed 's/SOAK-WRK //; s/ /; /g')"
[ "$wrong" = 0 ] && [ "$bad" = 0 ] && [ "$errors" = 0 ] || fail "wrk: $line"
[ "$right" = "$requests" ] || fail "wrk: only $right of $requests checked right"

# flat memory: the end against the first fifth of the run
mapfile -t samples < "$TMP/rss"
[ "${#samples[@]}" -ge 2 ] || samples+=("$(rss)")
early=${samples[$(( ${#samples[@]} / 5 ))]}
late=$(rss)
echo "soak: VmRSS samples (kB): ${samples[*]}; end $late"
[ $((late - early)) -le "$SLACK" ] || fail "VmRSS grew from $early to $late kB"
kill -TERM "$D_PID"; rc=0; wait "$D_PID" || rc=$?; D_PID=
[ "$rc" = 0 ] || fail "glorotd exited with $rc"
echo "soak: PASS - $requests wrk answers right, $(sed -n 's/SOAK-LIB ok=//p' "$TMP/lib.out") library fetches of 4 MiB verified, VmRSS $early -> $late kB"
