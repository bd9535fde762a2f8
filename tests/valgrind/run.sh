#!/usr/bin/env bash
# tests/valgrind/run.sh - glorotd under valgrind memcheck: a scripted mix of
# requests (every endpoint, every format, slices, shards, ranges, 304, 416,
# POST bodies, errors, HEAD, a client that disconnects mid-stream), each
# answer checked, then SIGTERM. Fails on any memcheck error, any definite or
# indirect leak, a wrong answer or a nonzero exit.
#
#   GLOROTD_BIN=build/glorotd tests/valgrind/run.sh
set -euo pipefail
BIN=${GLOROTD_BIN:?set GLOROTD_BIN}
TMP=$(mktemp -d)
VG_PID=
cleanup() { [ -n "$VG_PID" ] && kill -KILL "$VG_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "valgrind run: FAIL: $*" >&2; tail -n 40 "$TMP/vg.log" >&2 || true; exit 1; }

root=(); [ "$(id -u)" = 0 ] && root=(--allow-root)
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes \
  --log-file="$TMP/vg.log" \
  "$BIN" --listen 127.0.0.1:0 --port-file "$TMP/port" --threads 2 "${root[@]}" \
  2>"$TMP/daemon.log" &
VG_PID=$!
for _ in $(seq 600); do [ -s "$TMP/port" ] && break; sleep 0.1; done
[ -s "$TMP/port" ] || fail "no port file after 60 s"
URL="http://127.0.0.1:$(cat "$TMP/port")"
T="$URL/v1/glorot_uniform"
n=0
# expect STATUS CURL-ARGS...: the status must match
expect() {
  local want=$1; shift
  local got; got=$(curl -sS -o "$TMP/body" -w '%{http_code}' --max-time 60 "$@") || fail "curl $*"
  [ "$got" = "$want" ] || fail "$* -> $got, want $want"
  n=$((n + 1))
}
# same FILE1 FILE2: byte-for-byte equal
same() { cmp -s "$1" "$2" || fail "$1 and $2 differ"; }

expect 200 "$URL/healthz";  grep -q '"ok"' "$TMP/body" || fail healthz
expect 200 "$URL/readyz"
expect 200 "$URL/v1/info"
expect 200 "$URL/metrics"
for fmt in raw npy safetensors json; do
  for alg in chacha20 mlx mlx-seeded; do
    expect 200 "$T?shape=64,48&seed=7&format=$fmt&algorithm=$alg&dtype=float16"
    cp "$TMP/body" "$TMP/$fmt-$alg"
    # the digest endpoint describes the same bytes
    expect 200 "$URL/v1/digest?shape=64,48&seed=7&format=$fmt&algorithm=$alg&dtype=float16"
    sum=$(sha256sum < "$TMP/$fmt-$alg" | cut -d' ' -f1)
    grep -q "$sum" "$TMP/body" || fail "digest of $fmt/$alg"
  done
done
# the whole in raw, then parts of it: a range, a slice, a shard (row-major rows)
expect 200 "$T?shape=64,48&seed=7"; cp "$TMP/body" "$TMP/whole"
expect 206 -H 'Range: bytes=100-1123' "$T?shape=64,48&seed=7"
dd if="$TMP/whole" of="$TMP/part" bs=1 skip=100 count=1024 status=none; same "$TMP/body" "$TMP/part"
expect 200 "$T?shape=64,48&seed=7&slice=16:32"
dd if="$TMP/whole" of="$TMP/part" bs=192 skip=16 count=16 status=none; same "$TMP/body" "$TMP/part"
expect 200 "$T?shape=64,48&seed=7&shard=1/4"
same "$TMP/body" "$TMP/part"
expect 200 -X POST -H 'Content-Type: application/json' \
  --data '{"shape":[64,48],"seed":7}' "$T"; same "$TMP/body" "$TMP/whole"
etag=$(curl -sS -D - -o /dev/null "$T?shape=64,48&seed=7" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
expect 304 -H "If-None-Match: $etag" "$T?shape=64,48&seed=7"
expect 206 -H 'Range: bytes=-10' -H "If-Range: $etag" "$T?shape=64,48&seed=7"
expect 416 -H 'Range: bytes=999999-' "$T?shape=64,48&seed=7"
expect 200 -I "$T?shape=64,48&seed=7"
# errors
expect 400 "$T?shape=0,3"
expect 400 "$T?shape=3,3&bogus=1"
expect 400 "$T?shape=3,3&seed=1&seed=2"
expect 422 "$T?shape=3,3&dtype=float64&algorithm=mlx"
expect 413 "$T?shape=100000,100000,100000"
expect 406 -H 'Accept: text/html' "$T?shape=3,3"
expect 400 -X POST -H 'Content-Type: application/json' --data '{"shape":[3,3' "$T"
expect 400 -X POST -H 'Content-Type: application/json' --data '[1,2]' "$T"
expect 413 -X POST -H 'Content-Type: application/json' --data-binary @<(head -c 2000000 /dev/zero | tr '\0' ' ') "$T"
expect 404 "$URL/nope"
expect 405 -X DELETE "$URL/healthz"
# streamed bodies (above the 256 KiB whole-body size), one dropped mid-stream
expect 200 "$T?shape=1024,1024&seed=3&format=npy"
[ "$(stat -c %s "$TMP/body")" = $((4 * 1024 * 1024 + 128)) ] || fail "npy size"
curl -sS --max-time 60 "$T?shape=2048,2048&seed=3" 2>/dev/null | head -c 100000 >/dev/null || true
expect 200 "$URL/healthz"

kill -TERM "$VG_PID"
rc=0; wait "$VG_PID" || rc=$?
VG_PID=
errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$TMP/vg.log" | tail -n 1)
grep -E 'definitely lost|indirectly lost|possibly lost|ERROR SUMMARY' "$TMP/vg.log" | sed 's/^==[0-9]*== //'
[ "$rc" = 0 ] || fail "glorotd under valgrind exited with $rc"
[ "$errs" = 0 ] || fail "$errs memcheck errors"
echo "valgrind run: $n requests checked, 0 errors, no definite or indirect leaks"
