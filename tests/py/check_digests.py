#!/usr/bin/python3
"""check_digests.py BASE_URL - RFC 9530 digest fields of a live glorotd,
computed independently with hashlib and base64.

Run by tests/e2e/test_digest_jobs.c with $GLOROT_PYTHON. Checks, for tensors
of every format (small ones hashed on the request thread, large ones on a
digest thread), a part, and a safetensors batch:
  - without Want-* fields no digest field is sent;
  - Want-Repr-Digest: Repr-Digest is the digest of the whole representation,
    the same on 200, 206 and HEAD;
  - Want-Content-Digest: Content-Digest is the digest of the bytes of this
    message: the whole body on a 200, the part on a 206, absent on HEAD;
  - sha-512 when preferred, nothing for unknown algorithms or a field that is
    not a valid dictionary;
  - /v1/digest's sha256 and repr_digest describe the same bytes.
Exit 0 when every check passes; prints the first failure otherwise.
"""
import base64
import hashlib
import http.client
import json
import sys
import urllib.parse

BASE = sys.argv[1]
HOST = urllib.parse.urlparse(BASE)
checks = 0

TENSORS = [
    "shape=16,16&seed=1",                                    # 1 KiB: hashed inline
    "shape=1024,1024&seed=2",                                # 4 MiB: a digest job
    "shape=512,300&seed=3&format=npy&dtype=float16",
    "shape=300,700&seed=4&format=safetensors&dtype=bfloat16&name=layers.0.w",
    "shape=2048,512&seed=5&shard=1/4&axis=0&format=safetensors",
    "shape=64,64&seed=6&format=json",                        # json: always a full pass
    "shape=8,3,3,3&seed=7&algorithm=mlx-seeded&call=2&format=npy&dtype=float16",
    "shape=33,17&seed=8&format=raw&dtype=float64",
]


def request(method, path, headers=None, body=None):
    conn = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=120)
    h = dict(headers or {})
    if body is not None:
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def expect(cond, what):
    global checks
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)
    checks += 1


def field(alg, data):
    """The value RFC 9530's examples show: sha-256=:<base64>: ."""
    h = hashlib.sha256(data) if alg == "sha-256" else hashlib.sha512(data)
    return "%s=:%s:" % (alg, base64.b64encode(h.digest()).decode())


def check_tensor(query):
    path = "/v1/glorot_uniform?" + query
    st, h, full = request("GET", path)
    expect(st == 200, "GET %s: %d" % (query, st))
    expect("repr-digest" not in h and "content-digest" not in h,
           "%s: no digest field without Want-*" % query)

    st, h, body = request("GET", path, {"Want-Repr-Digest": "sha-256=1"})
    expect(st == 200 and body == full, "%s: same body with Want-Repr-Digest" % query)
    expect(h.get("repr-digest") == field("sha-256", full),
           "%s: Repr-Digest %r, hashlib %r" % (query, h.get("repr-digest"), field("sha-256", full)))
    expect("content-digest" not in h, "%s: Content-Digest only when wanted" % query)

    st, h, body = request("GET", path, {"Want-Content-Digest": "sha-512=5, sha-256=1, md5=9",
                                        "Want-Repr-Digest": "sha-512=1, sha-256=2"})
    expect(h.get("content-digest") == field("sha-512", full),
           "%s: Content-Digest of a 200 is the whole body (sha-512 preferred)" % query)
    expect(h.get("repr-digest") == field("sha-256", full), "%s: sha-256 preferred" % query)

    # The same again (cached now): the same answer.
    st, h, body = request("GET", path, {"Want-Repr-Digest": "sha-256=1"})
    expect(h.get("repr-digest") == field("sha-256", full), "%s: cached Repr-Digest" % query)

    st, h, body = request("HEAD", path, {"Want-Repr-Digest": "sha-256=1",
                                         "Want-Content-Digest": "sha-256=1"})
    expect(st == 200 and body == b"", "%s: HEAD" % query)
    expect(h.get("repr-digest") == field("sha-256", full), "%s: HEAD Repr-Digest" % query)
    expect("content-digest" not in h, "%s: HEAD has no content, no Content-Digest" % query)

    if "format=json" not in query:
        lo, hi = len(full) // 3, len(full) - len(full) // 5
        st, h, part = request("GET", path, {"Range": "bytes=%d-%d" % (lo, hi),
                                            "Want-Repr-Digest": "sha-256=3",
                                            "Want-Content-Digest": "sha-256=3"})
        expect(st == 206 and part == full[lo:hi + 1], "%s: 206 part" % query)
        expect(h.get("repr-digest") == field("sha-256", full),
               "%s: 206 Repr-Digest is the whole representation's" % query)
        expect(h.get("content-digest") == field("sha-256", part),
               "%s: 206 Content-Digest is the part's: %r, hashlib %r"
               % (query, h.get("content-digest"), field("sha-256", part)))

    st, h, doc = request("GET", "/v1/digest?" + query)
    d = json.loads(doc)
    expect(st == 200 and d["sha256"] == hashlib.sha256(full).hexdigest(),
           "%s: /v1/digest sha256" % query)
    expect(d["repr_digest"] == field("sha-256", full), "%s: /v1/digest repr_digest" % query)
    expect(d["length"] == len(full), "%s: /v1/digest length" % query)


def check_preferences():
    path = "/v1/glorot_uniform?shape=64,64&seed=9"
    st, h, full = request("GET", path)
    for want in ["md5=10, unixsum=3", "sha-256=0", "SHA-256=1", "sha-256=1,", "sha-256=1.0",
                 "sha-256=11"]:
        st, h, body = request("GET", path, {"Want-Repr-Digest": want})
        expect(st == 200 and body == full and "repr-digest" not in h,
               "Want-Repr-Digest %r: no field, same answer" % want)
    st, h, body = request("GET", path, {"Want-Repr-Digest": "sha-512=10;x=1, sha-256=1"})
    expect(h.get("repr-digest") == field("sha-512", full), "sha-512 when preferred")


MODEL = {"seed": "11", "tensors": [{"name": "a", "shape": [256, 512]},
                                   {"name": "b", "shape": [512, 256], "dtype": "bfloat16"}]}


def check_batch():
    body = json.dumps(MODEL).encode()
    st, h, full = request("POST", "/v1/batch", body=body)
    expect(st == 200 and "repr-digest" not in h, "batch without Want-*")
    st, h, data = request("POST", "/v1/batch", {"Want-Repr-Digest": "sha-256=1",
                                                "Want-Content-Digest": "sha-256=1"}, body)
    expect(data == full and h.get("repr-digest") == field("sha-256", full), "batch Repr-Digest")
    expect(h.get("content-digest") == field("sha-256", full), "batch Content-Digest")
    st, h, data = request("POST", "/v1/batch?format=json", {"Want-Repr-Digest": "sha-256=1"},
                          body)
    expect(st == 200 and "repr-digest" not in h, "a json batch is produced once: no digest")


for q in TENSORS:
    check_tensor(q)
check_preferences()
check_batch()
print("check_digests.py: %d checks passed" % checks)
