"""test_manifests.py - the deployment files checked against each other and
against the daemon.

docker/k8s/*.yaml, docker/compose.yaml and docker/Dockerfile are parsed and
checked structurally, table-driven: the image name is the Makefile's tag,
probe paths and ports are the daemon's, terminationGracePeriodSeconds is the
drain delay plus the shutdown grace, the drain delay outlasts the time the
readiness probe takes to notice, the pod runs as the Dockerfile's
non-root user with a locked-down security context, resources, HPA and PDB
fit together, and every GLOROTD_* variable is one glorotd knows. A live
glorotd, started with the Deployment's environment, must answer both probe
paths with 200, and after SIGTERM the readiness path alone must turn 503
while it keeps serving (the drain the grace period pays for). Each check is also shown to fail: a table of broken copies
of the manifests, each of which must be caught by the check named with it.
"""
import copy
import json
import math
import os
import re
import signal
import sys
import time

import yaml

import deploy_support as ds

K8S_FILES = ["deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml"]
DEFAULT_SHUTDOWN_GRACE = 30  # glorotd's default, docs/PROTOCOL.md
DEFAULT_DRAIN_DELAY = 0

checks = 0


def ok(cond, what):
    global checks
    if not cond:
        print(f"manifests: FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    checks += 1
    print(f"manifests: ok {checks} - {what}")


# ---- reading the files ---------------------------------------------------------------

def read_dockerfile(path):
    """The runtime stage's instructions that matter here, continuation lines joined."""
    with open(path) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages, cur, version = [], None, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "ARG" and cur is None and rest.startswith("VERSION="):
            version = rest.partition("=")[2].strip()
        if word == "FROM":
            cur = {"from": rest.split()[0], "env": {}, "expose": [], "version": version}
            stages.append(cur)
        elif cur is None:
            continue
        elif word == "USER":
            cur["user"] = rest.strip()
        elif word == "EXPOSE":
            cur["expose"] += [int(p.split("/")[0]) for p in rest.split()]
        elif word == "ENV":
            k, _, v = rest.strip().partition("=")
            cur["env"][k] = v
        elif word == "STOPSIGNAL":
            cur["stopsignal"] = rest.strip()
        elif word == "HEALTHCHECK":
            # as the image stores it: ["CMD", exec form...]
            cur["healthcheck"] = ["CMD"] + json.loads(rest[rest.index("CMD") + 3:].strip())
    return stages[-1]


def glorotd_variables():
    """Every GLOROTD_* variable glorotd's --help names."""
    out = ds.run([ds.env("GLOROTD_BIN"), "--help"]).decode()
    return set(re.findall(r"\bGLOROTD_[A-Z_]+\b", out))


def load_model():
    docker = ds.repo_path("docker")
    k8s_dir = os.path.join(docker, "k8s")
    k8s = {}
    for name in sorted(os.listdir(k8s_dir)):
        if name.endswith(".yaml"):
            with open(os.path.join(k8s_dir, name)) as f:
                k8s[name] = yaml.safe_load(f)
    with open(os.path.join(docker, "compose.yaml")) as f:
        compose = yaml.safe_load(f)
    return {
        "image": ds.env("GLOROT_IMAGE"),
        "dockerfile": read_dockerfile(os.path.join(docker, "Dockerfile")),
        "k8s": k8s,
        "compose": compose,
        "docker_dir": docker,
        "variables": glorotd_variables(),
    }


# ---- accessors -------------------------------------------------------------------------

def deployment(m):
    return m["k8s"]["deployment.yaml"]


def pod(m):
    return deployment(m)["spec"]["template"]["spec"]


def container(m):
    return pod(m)["containers"][0]


def env_of(m):
    return {e["name"]: str(e["value"]) for e in container(m).get("env", [])}


def port_of(c, ref):
    """A probe's or Service's port (a number or a container port's name) as a number."""
    if isinstance(ref, int):
        return ref
    named = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == ref]
    return named[0] if len(named) == 1 else None


def listen_port(text):
    m = re.fullmatch(r"(?:\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]):(\d+)", text or "")
    return int(m.group(1)) if m else None


def quantity_cpu(q):
    q = str(q)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def quantity_bytes(q):
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9}
    m = re.fullmatch(r"(\d+)([A-Za-z]*)", str(q))
    return int(m.group(1)) * units.get(m.group(2), 1) if m and m.group(2) in ("", *units) else None


def dockerfile_uid(m):
    user = m["dockerfile"].get("user", "")
    return int(user.split(":")[0]) if re.fullmatch(r"\d+(:\d+)?", user) else None


def pod_labels(m):
    return deployment(m)["spec"]["template"]["metadata"]["labels"]


def seconds(text):
    mm = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", str(text))
    return int(mm.group(1) or 0) * 60 + int(mm.group(2) or 0) if mm and text else None


# ---- the checks: name -> predicate over the model --------------------------------------

def c_files(m):
    kinds = {n: d.get("kind") for n, d in m["k8s"].items()}
    return (kinds.get("deployment.yaml") == "Deployment" and kinds.get("service.yaml") == "Service"
            and kinds.get("hpa.yaml") == "HorizontalPodAutoscaler"
            and kinds.get("pdb.yaml") == "PodDisruptionBudget"
            and sorted(m["k8s"]["kustomization.yaml"]["resources"]) == sorted(K8S_FILES))


def c_api_versions(m):
    want = {"deployment.yaml": "apps/v1", "service.yaml": "v1", "hpa.yaml": "autoscaling/v2",
            "pdb.yaml": "policy/v1"}
    return all(m["k8s"][n].get("apiVersion") == v for n, v in want.items())


def c_image(m):
    return (container(m).get("image") == m["image"]
            and m["compose"]["services"]["glorotd"].get("image") == m["image"])


def c_ports(m):
    c, df = container(m), m["dockerfile"]
    ports = [p.get("containerPort") for p in c.get("ports", [])]
    want = df["expose"]
    return (ports == want == [listen_port(df["env"].get("GLOROTD_LISTEN"))]
            and listen_port(env_of(m).get("GLOROTD_LISTEN", df["env"].get("GLOROTD_LISTEN")))
            == want[0])


def probe(m, kind):
    return container(m).get(kind, {}).get("httpGet", {})


def c_readiness(m):
    p = probe(m, "readinessProbe")
    return p.get("path") == "/readyz" and port_of(container(m), p.get("port")) == \
        m["dockerfile"]["expose"][0]


def c_liveness(m):
    p = probe(m, "livenessProbe")
    return p.get("path") == "/healthz" and port_of(container(m), p.get("port")) == \
        m["dockerfile"]["expose"][0]


def c_grace(m):
    e = env_of(m)
    grace = int(e.get("GLOROTD_SHUTDOWN_GRACE", DEFAULT_SHUTDOWN_GRACE))
    drain = int(e.get("GLOROTD_DRAIN_DELAY", DEFAULT_DRAIN_DELAY))
    return pod(m).get("terminationGracePeriodSeconds") == grace + drain


def c_drain(m):
    """The drain delay outlasts the time readiness takes to notice (period x threshold)."""
    r = container(m).get("readinessProbe", {})
    noticed = r.get("periodSeconds", 10) * r.get("failureThreshold", 3)
    return int(env_of(m).get("GLOROTD_DRAIN_DELAY", DEFAULT_DRAIN_DELAY)) > noticed


def c_pod_security(m):
    sc = pod(m).get("securityContext", {})
    uid = dockerfile_uid(m)
    return (sc.get("runAsNonRoot") is True and uid not in (None, 0) and sc.get("runAsUser") == uid
            and sc.get("seccompProfile", {}).get("type") == "RuntimeDefault")


def c_container_security(m):
    sc = container(m).get("securityContext", {})
    return (sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True
            and sc.get("capabilities", {}).get("drop") == ["ALL"]
            and sc.get("runAsUser", 1) != 0 and sc.get("privileged", False) is False)


def c_resources(m):
    r = container(m).get("resources", {})
    req, lim = r.get("requests", {}), r.get("limits", {})
    if not all(k in d for d in (req, lim) for k in ("cpu", "memory")):
        return False
    mem = [quantity_bytes(req["memory"]), quantity_bytes(lim["memory"])]
    return (None not in mem and 0 < quantity_cpu(req["cpu"]) <= quantity_cpu(lim["cpu"])
            and 0 < mem[0] <= mem[1])


def c_threads(m):
    """One worker thread per CPU of the limit (glorotd counts the node's CPUs otherwise)."""
    lim = container(m).get("resources", {}).get("limits", {}).get("cpu")
    t = env_of(m).get("GLOROTD_THREADS")
    return lim is not None and t is not None and int(t) == math.ceil(quantity_cpu(lim))


def c_selectors(m):
    labels = pod_labels(m)
    sel = deployment(m)["spec"]["selector"]["matchLabels"]
    svc = m["k8s"]["service.yaml"]["spec"]["selector"]
    pdb = m["k8s"]["pdb.yaml"]["spec"]["selector"]["matchLabels"]
    inside = lambda s: bool(s) and all(labels.get(k) == v for k, v in s.items())  # noqa: E731
    return inside(sel) and inside(svc) and inside(pdb) and svc == sel and pdb == sel


def c_service(m):
    ports = m["k8s"]["service.yaml"]["spec"]["ports"]
    return len(ports) == 1 and port_of(container(m), ports[0].get("targetPort")) == \
        m["dockerfile"]["expose"][0]


def c_hpa(m):
    spec = m["k8s"]["hpa.yaml"]["spec"]
    ref = spec.get("scaleTargetRef", {})
    cpu = [x for x in spec.get("metrics", []) if x.get("type") == "Resource"
           and x["resource"]["name"] == "cpu" and x["resource"]["target"]["type"] == "Utilization"]
    return (ref.get("kind") == "Deployment" and ref.get("name") == deployment(m)["metadata"]["name"]
            and 2 <= spec.get("minReplicas", 1) <= spec.get("maxReplicas", 0) and len(cpu) == 1
            and "cpu" in container(m).get("resources", {}).get("requests", {})
            and "replicas" not in deployment(m)["spec"])


def c_pdb(m):
    spec = m["k8s"]["pdb.yaml"]["spec"]
    least = m["k8s"]["hpa.yaml"]["spec"].get("minReplicas", 1)
    if "maxUnavailable" in spec:
        return isinstance(spec["maxUnavailable"], int) and 1 <= spec["maxUnavailable"] < least
    return isinstance(spec.get("minAvailable"), int) and 1 <= spec["minAvailable"] < least


def c_variables(m):
    names = set(env_of(m)) | set(m["compose"]["services"]["glorotd"].get("environment", {}))
    return bool(names) and names <= m["variables"]


def c_compose(m):
    svc = m["compose"]["services"]
    g, n = svc["glorotd"], svc["nginx"]
    env = {k: str(v) for k, v in g.get("environment", {}).items()}
    grace = int(env.get("GLOROTD_SHUTDOWN_GRACE", DEFAULT_SHUTDOWN_GRACE)) + \
        int(env.get("GLOROTD_DRAIN_DELAY", DEFAULT_DRAIN_DELAY))
    mounts = [v.split(":")[0] for v in n.get("volumes", [])]
    return (g.get("healthcheck", {}).get("test") == m["dockerfile"]["healthcheck"]
            and g.get("deploy", {}).get("replicas", 1) >= 2
            and (seconds(g.get("stop_grace_period")) or 0) > grace
            and n.get("depends_on", {}).get("glorotd", {}).get("condition") == "service_healthy"
            and len(mounts) == 1 and os.path.isfile(os.path.join(m["docker_dir"], mounts[0])))


def c_dockerfile(m):
    df = m["dockerfile"]
    return (df["from"] == "debian:bookworm-slim" and df.get("stopsignal") == "SIGTERM"
            and df.get("version") == m["image"].rpartition(":")[2]
            and df.get("healthcheck", [None])[:3] == ["CMD", "glorot", "health"]
            and dockerfile_uid(m) not in (None, 0))


CHECKS = [
    ("files", "kustomization lists the four manifests, each of the expected kind", c_files),
    ("api", "stable API versions (apps/v1, v1, autoscaling/v2, policy/v1)", c_api_versions),
    ("image", "the Deployment's and compose's image is the Makefile's tag", c_image),
    ("ports", "containerPort = Dockerfile EXPOSE = the port in GLOROTD_LISTEN", c_ports),
    ("readiness", "readiness probe: GET /readyz on the container port", c_readiness),
    ("liveness", "liveness probe: GET /healthz on the container port", c_liveness),
    ("grace", "terminationGracePeriodSeconds = drain delay + shutdown grace", c_grace),
    ("drain", "the drain delay outlasts readiness period x failure threshold", c_drain),
    ("pod-security", "pod runs as non-root, as the Dockerfile's numeric user", c_pod_security),
    ("container-security", "no privilege gain, read-only root, all capabilities dropped",
     c_container_security),
    ("resources", "cpu and memory requests and limits, requests within limits", c_resources),
    ("threads", "GLOROTD_THREADS = the CPU limit", c_threads),
    ("selectors", "Deployment, Service and PDB select the pod template's labels", c_selectors),
    ("service", "the Service targets the container port", c_service),
    ("hpa", "HPA scales the Deployment on CPU, 2 <= min <= max, no fixed replicas", c_hpa),
    ("pdb", "the PDB lets one replica go at a time, fewer than the HPA minimum", c_pdb),
    ("variables", "every GLOROTD_* variable is one glorotd --help names", c_variables),
    ("compose", "compose: the image's health check, replicas, stop grace, nginx waits for "
                "healthy replicas", c_compose),
    ("dockerfile", "Dockerfile: bookworm-slim, its VERSION the tag's, STOPSIGNAL SIGTERM, "
                   "glorot health, numeric user",
     c_dockerfile),
]


def failing(m):
    out = []
    for name, _, fn in CHECKS:
        try:
            good = fn(m)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            good = False
        if not good:
            out.append(name)
    return out


# ---- broken copies: each must be caught by the named check --------------------------

def setter(path, value):
    """A mutation that sets (value is not DELETE) or deletes the key at path."""
    def mutate(m):
        node = m
        for key in path[:-1]:
            node = node[key]
        if value is DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return mutate


def env_setter(name, value=None, rename=None):
    """A mutation of the Deployment's variable name: a new value or a new name."""
    def mutate(m):
        for e in container(m)["env"]:
            if e["name"] == name:
                e["value"] = e["value"] if value is None else value
                e["name"] = rename or name
                return
        raise KeyError(name)
    return mutate


DELETE = object()
POD = ["k8s", "deployment.yaml", "spec", "template", "spec"]
CTR = POD + ["containers", 0]

MUTATIONS = [
    ("image", "another tag", setter(CTR + ["image"], "glorotd:latest")),
    ("image", "compose's image", setter(["compose", "services", "glorotd", "image"], "glorotd:0")),
    ("ports", "container port", setter(CTR + ["ports", 0, "containerPort"], 9090)),
    ("ports", "listen port in env", env_setter("GLOROTD_LISTEN", "0.0.0.0:9090")),
    ("readiness", "readiness on /healthz", setter(CTR + ["readinessProbe", "httpGet", "path"],
                                                  "/healthz")),
    ("readiness", "readiness on an unknown port name",
     setter(CTR + ["readinessProbe", "httpGet", "port"], "metrics")),
    ("liveness", "liveness on /readyz", setter(CTR + ["livenessProbe", "httpGet", "path"],
                                               "/readyz")),
    ("liveness", "liveness on port 80", setter(CTR + ["livenessProbe", "httpGet", "port"], 80)),
    ("grace", "grace period 30", setter(POD + ["terminationGracePeriodSeconds"], 30)),
    ("drain", "readiness noticed after the drain delay",
     setter(CTR + ["readinessProbe", "periodSeconds"], 10)),
    ("drain", "no drain delay", env_setter("GLOROTD_DRAIN_DELAY", "0")),
    ("pod-security", "runAsNonRoot off", setter(POD + ["securityContext", "runAsNonRoot"], False)),
    ("pod-security", "another uid", setter(POD + ["securityContext", "runAsUser"], 1000)),
    ("container-security", "privilege escalation",
     setter(CTR + ["securityContext", "allowPrivilegeEscalation"], True)),
    ("container-security", "writable root",
     setter(CTR + ["securityContext", "readOnlyRootFilesystem"], False)),
    ("resources", "no memory request", setter(CTR + ["resources", "requests", "memory"], DELETE)),
    ("resources", "request above limit", setter(CTR + ["resources", "requests", "cpu"], "3")),
    ("threads", "threads not the CPU limit", env_setter("GLOROTD_THREADS", "8")),
    ("selectors", "Service selects another app",
     setter(["k8s", "service.yaml", "spec", "selector"], {"app.kubernetes.io/name": "other"})),
    ("selectors", "PDB selects nothing",
     setter(["k8s", "pdb.yaml", "spec", "selector", "matchLabels"], {})),
    ("service", "Service targets 9090", setter(["k8s", "service.yaml", "spec", "ports", 0,
                                                "targetPort"], 9090)),
    ("hpa", "HPA targets a StatefulSet", setter(["k8s", "hpa.yaml", "spec", "scaleTargetRef",
                                                 "kind"], "StatefulSet")),
    ("hpa", "HPA min above max", setter(["k8s", "hpa.yaml", "spec", "minReplicas"], 20)),
    ("hpa", "fixed replicas in the Deployment",
     setter(["k8s", "deployment.yaml", "spec", "replicas"], 3)),
    ("pdb", "PDB blocks every eviction", setter(["k8s", "pdb.yaml", "spec", "maxUnavailable"], 0)),
    ("variables", "a misspelt variable",
     env_setter("GLOROTD_DRAIN_DELAY", rename="GLOROTD_DRAIN_DELAI")),
    ("grace", "a longer drain delay", env_setter("GLOROTD_DRAIN_DELAY", "10")),
    ("compose", "compose health check on curl",
     setter(["compose", "services", "glorotd", "healthcheck", "test"],
            ["CMD", "curl", "-f", "http://127.0.0.1:8080/healthz"])),
    ("compose", "compose stop grace shorter than the shutdown grace",
     setter(["compose", "services", "glorotd", "stop_grace_period"], "10s")),
    ("dockerfile", "root user in the Dockerfile", setter(["dockerfile", "user"], "0")),
    ("dockerfile", "another version in the Dockerfile", setter(["dockerfile", "version"], "0.2.0")),
    ("files", "kustomization misses the PDB",
     setter(["k8s", "kustomization.yaml", "resources"], K8S_FILES[:3])),
    ("api", "beta HPA API", setter(["k8s", "hpa.yaml", "apiVersion"], "autoscaling/v2beta2")),
]


# ---- the live daemon -------------------------------------------------------------------

def live_probes(m):
    """Start glorotd with the Deployment's environment (listening on a loopback
    port instead of 0.0.0.0:8080) and GET both probe paths."""
    env = env_of(m)
    env.pop("GLOROTD_LISTEN", None)
    d = ds.Daemon(extra_env=env)
    try:
        for kind in ("readinessProbe", "livenessProbe"):
            path = probe(m, kind)["path"]
            status, body = ds.http_get(d.port, path)
            ok(status == 200, f"live glorotd with the Deployment's environment answers the "
                              f"{kind} {path} with 200 ({body[:40]!r})")
        status, _ = ds.http_get(d.port, "/no-such-probe")
        ok(status == 404, "and an unknown path with 404 (the probe check can fail)")
        code = d.signal_wait(signal.SIGTERM)
        ok(code == 0, "it stops on SIGTERM with status 0")
    finally:
        d.close()


def live_drain(m):
    """What the grace period is for: after SIGTERM the readiness path answers
    503 (the endpoints drop the pod) while liveness and downloads still work.
    The drain delay is raised by flag so the window does not depend on timing;
    a second SIGTERM ends it, as documented."""
    env = env_of(m)
    env.pop("GLOROTD_LISTEN", None)
    d = ds.Daemon(extra_env=env, args=("--drain-delay", "3600"))
    ready, live = probe(m, "readinessProbe")["path"], probe(m, "livenessProbe")["path"]
    try:
        d.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + ds.START_TIMEOUT_S
        status = 200
        while status == 200 and time.monotonic() < deadline:
            status = ds.http_get(d.port, ready)[0]
        ok(status == 503, f"after SIGTERM the readiness path {ready} answers 503")
        ok(ds.http_get(d.port, live)[0] == 200, f"while the liveness path {live} still answers 200")
        status, body = ds.http_get(d.port, "/v1/glorot_uniform?shape=64,64&seed=1")
        ok(status == 200 and len(body) == 64 * 64 * 4, "and tensors are still served")
        ok(d.signal_wait(signal.SIGTERM) == 0 and "stopped" in d.log(),
           "a second SIGTERM ends the drain: it stops with status 0")
    finally:
        d.close()


def main():
    m = load_model()
    ok(sorted(n for n in m["k8s"] if n != "kustomization.yaml") == sorted(K8S_FILES),
       f"docker/k8s holds {', '.join(K8S_FILES)} and kustomization.yaml")
    bad = failing(m)
    for name, what, _ in CHECKS:
        ok(name not in bad, f"{name}: {what}")
    for name, what, mutate in MUTATIONS:
        broken = copy.deepcopy(m)
        mutate(broken)
        caught = failing(broken)
        ok(name in caught, f"a broken copy ({what}) is caught by `{name}`"
                           + (f" (and {', '.join(c for c in caught if c != name)})"
                              if len(caught) > 1 else ""))
    live_probes(m)
    live_drain(m)
    print(f"manifests: all {checks} checks passed "
          f"({len(CHECKS)} structural checks, {len(MUTATIONS)} broken copies caught)")


if __name__ == "__main__":
    main()
