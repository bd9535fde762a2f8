#!/usr/bin/env bash
# test.sh - build docker/Dockerfile with podman and run the image (make docker-test).
#
# No Docker engine runs on the test machines, so podman builds and runs the
# Dockerfile, with its own storage in a scratch folder (removed at the end),
# runc and the cgroupfs manager, ulimits root may set here, and a
# debian:bookworm-slim base made locally by docker/make-base.sh (cached).
#
# Checks, in order: the image's configuration (non-root numeric user, port,
# listen address, health check command, stop signal, OCI labels, size); a
# container started the way the Kubernetes manifests run it (read-only root,
# no capabilities) and published on 127.0.0.1 becomes healthy through its own
# HEALTHCHECK; it runs as the unprivileged user and holds no compiler or curl;
# tensors downloaded from it equal the local build's bytes; on SIGTERM it stops
# by itself with exit status 0.
#
# Environment (the Makefile sets it): GLOROT_IMAGE (the tag), GLOROT_VERSION,
# GLOROT_BIN (the host's glorot, for the expected bytes), GLOROT_CI_CACHE
# (where the base tarball is kept), GLOROT_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${GLOROT_IMAGE:?}" "${GLOROT_VERSION:?}" "${GLOROT_BIN:?}" "${GLOROT_CI_CACHE:?}"
python=${GLOROT_PYTHON:-/usr/bin/python3}
max_image_mb=${GLOROT_MAX_IMAGE_MB:-120}

checks=0
say() { echo "docker-test: $*"; }
pass() { checks=$((checks + 1)); say "ok $checks - $*"; }
fail() {
    say "FAIL: $*" >&2
    exit 1
}

scratch=$(mktemp -d /tmp/glorotd-docker.XXXXXX)
cid=""
cat >"$scratch/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$scratch/events.log"
tmp_dir = "$scratch/tmp"

[network]
network_config_dir = "$scratch/networks"
CONF
export CONTAINERS_CONF=$scratch/containers.conf
pm() { podman --root "$scratch/root" --runroot "$scratch/runroot" "$@"; }

cleanup() {
    if [ -n "$cid" ]; then
        pm rm -f -t 0 "$cid" >/dev/null 2>&1 || true
    fi
    pm system reset -f >/dev/null 2>&1 || true
    findmnt -rn -o TARGET | grep "^$scratch/" | sort -r | xargs -r umount -l 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- base image and build ---------------------------------------------------
start=$(date +%s)
tarball=$(docker/make-base.sh "$GLOROT_CI_CACHE")
zstd -dc "$tarball" | pm import -q --change 'CMD ["bash"]' - docker.io/library/debian:bookworm-slim >/dev/null
say "base image imported ($(($(date +%s) - start)) s)"

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if ! pm build --pull=never --format docker --network=host \
    --build-arg VERSION="$GLOROT_VERSION" --build-arg REVISION="$revision" \
    -f docker/Dockerfile -t "$GLOROT_IMAGE" . >"$scratch/build.log" 2>&1; then
    tail -n 40 "$scratch/build.log" >&2
    fail "podman build"
fi
pass "image $GLOROT_IMAGE built ($(($(date +%s) - start)) s since start)"

# ---- the image's configuration ---------------------------------------------
pm image inspect "$GLOROT_IMAGE" >"$scratch/image.json"
size=$(pm image inspect --format '{{.Size}}' "$GLOROT_IMAGE")
size_mb=$((size / 1000000))
base_mb=$(($(pm image inspect --format '{{.Size}}' debian:bookworm-slim) / 1000000))
EXPECT_VERSION=$GLOROT_VERSION EXPECT_REVISION=$revision "$python" - "$scratch/image.json" <<'PY' ||
import json, os, sys
img = json.load(open(sys.argv[1]))[0]
cfg = img["Config"]
env = dict(e.split("=", 1) for e in cfg.get("Env", []))
labels = cfg.get("Labels") or {}
health = img.get("Healthcheck") or cfg.get("Healthcheck") or {}
want = [
    ("user is numeric and not root", cfg.get("User"), "10001:10001"),
    ("exposed port", sorted(cfg.get("ExposedPorts", {})), ["8080/tcp"]),
    ("GLOROTD_LISTEN", env.get("GLOROTD_LISTEN"), "0.0.0.0:8080"),
    ("entrypoint", cfg.get("Entrypoint"), ["glorotd"]),
    ("stop signal", cfg.get("StopSignal"), "SIGTERM"),
    ("health check", health.get("Test"),
     ["CMD", "glorot", "health", "--url", "http://127.0.0.1:8080"]),
    ("label version", labels.get("org.opencontainers.image.version"), os.environ["EXPECT_VERSION"]),
    ("label revision", labels.get("org.opencontainers.image.revision"), os.environ["EXPECT_REVISION"]),
    ("label title", labels.get("org.opencontainers.image.title"), "glorotd"),
    ("label base", labels.get("org.opencontainers.image.base.name"), "debian:bookworm-slim"),
]
bad = [f"{what}: {got!r}, want {exp!r}" for what, got, exp in want if got != exp]
for b in bad:
    print("docker-test: image config:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
    fail "image configuration"
pass "image configuration: user 10001, port 8080, GLOROTD_LISTEN, HEALTHCHECK, STOPSIGNAL, labels"
[ "$size_mb" -le "$max_image_mb" ] || fail "image is $size_mb MB, over $max_image_mb MB"
pass "image size $size_mb MB ($size bytes; the base is $base_mb MB; limit $max_image_mb MB)"

# ---- run it ----------------------------------------------------------------------
# As the Kubernetes manifests run it: read-only root, no capabilities, no privilege gain.
# (podman's periodic health timers need systemd, absent here: it says so on
# stderr, kept in run.log; the check itself runs below with healthcheck run.)
cid=$(pm run -d --read-only --cap-drop=ALL --security-opt no-new-privileges \
    -p 127.0.0.1::8080 "$GLOROT_IMAGE" 2>"$scratch/run.log") || {
    cat "$scratch/run.log" >&2
    fail "podman run"
}
hostport=$(pm port "$cid" 8080/tcp | sed -n 's/^127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' | head -n 1)
[ -n "$hostport" ] || fail "no published port: $(pm port "$cid" 2>&1)"
url=http://127.0.0.1:$hostport

up=0
for _ in $(seq 1 100); do # bounded: 100 x 0.2 s
    if curl -fsS --max-time 2 -o /dev/null "$url/healthz" 2>/dev/null; then
        up=1
        break
    fi
    sleep 0.2
done
[ "$up" = 1 ] || {
    pm logs "$cid" >&2 || true
    fail "no answer on $url/healthz"
}
pass "container answers /healthz on 127.0.0.1:$hostport"
curl -fsS --max-time 5 -o /dev/null "$url/readyz" || fail "/readyz (the readiness probe) does not answer 200"
pass "container answers /readyz (the Kubernetes readiness probe)"

pm healthcheck run "$cid" >"$scratch/health.out" 2>&1 ||
    fail "HEALTHCHECK (glorot health) failed: $(cat "$scratch/health.out")"
status=$(pm inspect --format '{{.State.Health.Status}}' "$cid")
[ "$status" = healthy ] || fail "health status '$status', want healthy"
pass "HEALTHCHECK with the shipped glorot command: healthy"

[ "$(pm exec "$cid" id -u)" = 10001 ] || fail "glorotd does not run as uid 10001"
pass "runs as uid 10001"
# (prints the paths of any it finds, then "end": an exec that fails cannot pass)
found=$(pm exec "$cid" sh -c 'for t in curl wget cc gcc make; do command -v "$t"; done; echo end')
[ "$found" = end ] || fail "the runtime image holds a compiler or an HTTP download tool: $found"
pass "no curl, wget, compiler or make in the runtime image"

# ---- bytes equal the local build's ------------------------------------------
# name|query string|the same request as glorot options
requests='raw float32|shape=256,512&seed=42|--shape 256,512 --seed 42
npy bf16 torch relu|shape=64,3,7,7&seed=7&dtype=bfloat16&fan=torch&gain=relu&format=npy|--shape 64,3,7,7 --seed 7 --dtype bfloat16 --fan torch --gain relu --format npy
safetensors mlx|shape=16,32&seed=3&algorithm=mlx&name=w&format=safetensors|--shape 16,32 --seed 3 --algorithm mlx --name w --format safetensors
json float64 max seed|shape=5,7&seed=18446744073709551615&dtype=float64&format=json|--shape 5,7 --seed 18446744073709551615 --dtype float64 --format json'
while IFS='|' read -r name query opts; do
    curl -fsS --max-time 30 -o "$scratch/got" "$url/v1/glorot_uniform?$query" ||
        fail "$name: download failed"
    # shellcheck disable=SC2086 # opts is a list of options
    "$GLOROT_BIN" gen $opts -q -o "$scratch/want" || fail "$name: glorot gen failed"
    cmp -s "$scratch/got" "$scratch/want" || fail "$name: container bytes differ from the local build's"
    pass "$name: $(wc -c <"$scratch/got") bytes equal to build/glorot gen"
done <<<"$requests"
"$GLOROT_BIN" fetch --url "$url" --shape 1024,1024 --seed 9 --verify full -q -o "$scratch/got" ||
    fail "glorot fetch --verify full against the container"
pass "glorot fetch --verify full: 4 MiB equal to local generation"

# ---- a clean stop on SIGTERM -------------------------------------------------
# podman stop sends the image's STOPSIGNAL and waits up to 20 s before SIGKILL.
pm stop -t 20 "$cid" >/dev/null 2>>"$scratch/run.log"
code=$(pm inspect --format '{{.State.ExitCode}}' "$cid")
pm logs "$cid" >"$scratch/daemon.log" 2>&1
[ "$code" = 0 ] || {
    cat "$scratch/daemon.log" >&2
    fail "exit status $code after SIGTERM, want 0"
}
grep -q 'SIGTERM received' "$scratch/daemon.log" || fail "no 'SIGTERM received' in the log"
grep -q 'stopped' "$scratch/daemon.log" || fail "no 'stopped' in the log"
pass "SIGTERM: glorotd logged the signal, stopped and exited 0"

say "all $checks checks passed in $(($(date +%s) - start)) s; image $GLOROT_IMAGE is $size_mb MB"
