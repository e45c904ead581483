"""The lake interface against a real S3 server (SeaweedFS, signatures checked) and against
the file backend, through tests/tools/laketool.c built on build/libhdp.a."""

import os
import re
import shutil
import subprocess

import pytest

from s3server import s3  # noqa: F401  (pytest fixture)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PKGS = "libpq hiredis jansson libcrypto libcurl libzstd"
MIB = 1024 * 1024


@pytest.fixture(scope="session")
def laketool(tmp_path_factory):
    """Compiles the test driver against the built library (build/libhdp.a, or
    build/asan/libhdp.a with HDP_TEST_ASAN=1)."""
    asan = os.environ.get("HDP_TEST_ASAN") == "1"
    lib = os.path.join(ROOT, "build/asan/libhdp.a" if asan else "build/libhdp.a")
    subprocess.run(["make", "-s", "asan" if asan else "all"], cwd=ROOT, check=True)
    out = str(tmp_path_factory.mktemp("tool") / "laketool")
    cflags = subprocess.run(["pkg-config", "--cflags", "libcurl"], check=True,
                            capture_output=True, text=True).stdout.split()
    libs = subprocess.run(["pkg-config", "--libs"] + PKGS.split(), check=True,
                          capture_output=True, text=True).stdout.split()
    san = ["-fsanitize=address,undefined"] if asan else []
    subprocess.run(["cc", "-std=c17", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                    "-I" + os.path.join(ROOT, "src")] + cflags + san +
                   [os.path.join(ROOT, "tests/tools/laketool.c"), lib, "-o", out] + libs +
                   ["-lsnappy", "-lpthread", "-lm"], check=True)
    return out


class Lake:
    """Runs laketool with a fixed environment."""

    def __init__(self, tool, env, cwd):
        self.tool, self.env, self.cwd = tool, env, cwd

    def run(self, *args, check=True, extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HDP_")}
        env["HDP_ENV_FILE"] = os.devnull
        env.update(self.env)
        env.update(extra or {})
        p = subprocess.run([self.tool] + list(args), env=env, cwd=self.cwd,
                           capture_output=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("laketool %s failed (%d): %s" % (
                " ".join(args), p.returncode, p.stderr.decode(errors="replace")))
        return p

    def ls(self, prefix="", **kw):
        out = self.run("ls", prefix, **kw).stdout.decode()
        return [tuple(line.rsplit("\t", 1)) for line in out.splitlines()]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


_bucket_no = [0]


def new_bucket():
    _bucket_no[0] += 1
    return "hdp-test-%d-%d" % (os.getpid(), _bucket_no[0])


@pytest.fixture(params=["file", "s3"])
def lake(request, laketool, tmp_path):
    """A fresh, ensured lake of each backend."""
    if request.param == "file":
        env = {"HDP_LAKE_URL": "file://./lake"}
    else:
        server = request.getfixturevalue("s3")
        env = server.env("s3://%s/some/prefix" % new_bucket())
    lk = Lake(laketool, env, str(tmp_path))
    lk.run("ensure")
    lk.kind = request.param
    return lk


# ------------------------------------------------------------------ both backends

def test_put_get_head_list_delete(lake, tmp_path):
    small = write(tmp_path / "small", b"hello lake\n")
    keys = ["raw/orders/dt=2026-11-23/b.jsonl", "raw/orders/dt=2026-11-23/a.jsonl",
            "raw/orders/dt=2026-11-24/a b+c=é.jsonl", "curated/x.parquet"]
    for k in keys:
        lake.run("put", k, small)
    assert lake.run("get", keys[0]).stdout == b"hello lake\n"
    assert lake.run("get", keys[2]).stdout == b"hello lake\n"
    assert lake.run("head", keys[1]).stdout == b"found 11\n"
    assert lake.run("head", "raw/none").stdout == b"missing\n"
    assert [k for k, _ in lake.ls()] == sorted(keys)
    assert lake.ls("raw/orders/dt=2026-11-23/") == [
        ("raw/orders/dt=2026-11-23/a.jsonl", "11"), ("raw/orders/dt=2026-11-23/b.jsonl", "11")]
    assert [k for k, _ in lake.ls("raw/orders/dt=2026-11-2")] == sorted(keys[:3])
    assert lake.ls("nothing/") == []
    lake.run("del", keys[0])
    lake.run("del", keys[0])  # deleting a missing key is fine
    assert lake.run("head", keys[0]).stdout == b"missing\n"
    p = lake.run("get", keys[0], check=False)
    assert p.returncode == 1
    assert b"not found" in p.stderr and len(p.stderr.splitlines()) == 1
    # empty object and in-memory put
    empty = write(tmp_path / "empty", b"")
    lake.run("putmem", "e/empty", empty)
    assert lake.run("head", "e/empty").stdout == b"found 0\n"
    assert lake.run("get", "e/empty").stdout == b""
    # overwrite replaces the whole object
    lake.run("putmem", "curated/x.parquet", write(tmp_path / "two", b"2"))
    assert lake.run("get", "curated/x.parquet").stdout == b"2"


def test_bad_key_is_a_clear_error(lake, tmp_path):
    f = write(tmp_path / "f", b"x")
    for key in ["../escape", "/abs", "a//b", "trail/"]:
        p = lake.run("put", key, f, check=False)
        assert p.returncode == 1, key
        assert p.stderr.startswith(b"laketool: ") and len(p.stderr.splitlines()) == 1


def test_big_object_round_trip(lake, tmp_path):
    data = os.urandom(11 * MIB + 12345)
    big = write(tmp_path / "big", data)
    knobs = {"HDP_S3_MULTIPART_THRESHOLD": str(5 * MIB), "HDP_S3_PART_SIZE": str(5 * MIB)}
    lake.run("put", "big/file.bin", big, extra=knobs)
    lake.run("putmem", "big/mem.bin", big, extra=knobs)
    for key in ["big/file.bin", "big/mem.bin"]:
        assert lake.run("head", key).stdout == b"found %d\n" % len(data)
        assert lake.run("get", key).stdout == data


# ------------------------------------------------------------------ S3 only

def s3_lake(laketool, server, tmp_path, url=None, **env):
    e = server.env(url or "s3://%s/p" % new_bucket())
    e.update(env)
    return Lake(laketool, e, str(tmp_path))


def signed_head_etag(server, bucket, key):
    """ETag of an object, read with the curl CLI's own SigV4 (None when curl is missing)."""
    if shutil.which("curl") is None:
        return None
    p = subprocess.run(["curl", "-s", "-I", "--aws-sigv4", "aws:amz:%s:s3" % server.region,
                        "--user", "%s:%s" % (server.access_key, server.secret_key),
                        "%s/%s/%s" % (server.endpoint, bucket, key)],
                       capture_output=True, text=True, check=True)
    m = re.search(r"(?im)^etag:\s*\"?([^\"\r\n]+)", p.stdout)
    return m.group(1) if m else None


def test_ensure_creates_bucket_idempotently(laketool, s3, tmp_path):
    bucket = new_bucket()
    lk = s3_lake(laketool, s3, tmp_path, url="s3://%s" % bucket)
    p = lk.run("ls", check=False)
    assert p.returncode == 1
    assert ("S3 bucket '%s' does not exist at %s" % (bucket, s3.endpoint)).encode() in p.stderr
    lk.run("ensure")
    lk.run("ensure")
    assert lk.ls() == []
    lk.run("put", "k", write(tmp_path / "f", b"v"))
    assert lk.ls() == [("k", "1")]


def test_multipart_is_used_over_threshold(laketool, s3, tmp_path):
    bucket = new_bucket()
    lk = s3_lake(laketool, s3, tmp_path, url="s3://%s/pre" % bucket,
                 HDP_S3_MULTIPART_THRESHOLD=str(5 * MIB), HDP_S3_PART_SIZE=str(5 * MIB))
    lk.run("ensure")
    data = os.urandom(11 * MIB)
    lk.run("put", "mp/obj", write(tmp_path / "big", data))
    lk.run("put", "sp/obj", write(tmp_path / "small", data[:MIB]))
    assert lk.run("get", "mp/obj").stdout == data
    etag = signed_head_etag(s3, bucket, "pre/mp/obj")
    if etag is not None:
        assert etag.endswith("-3"), etag  # 5 + 5 + 1 MiB: three parts
        assert "-" not in signed_head_etag(s3, bucket, "pre/sp/obj")


def test_list_pagination(laketool, s3, tmp_path):
    lk = s3_lake(laketool, s3, tmp_path)
    lk.run("ensure")
    f = write(tmp_path / "f", b"abc")
    keys = ["page/%02d" % i for i in range(11)] + ["page/&<odd> 'key\"", "other/x"]
    for k in keys:
        lk.run("putmem", k, f)
    want = sorted(k for k in keys if k.startswith("page/"))
    for page in ["1", "2", "5", "1000"]:
        got = lk.ls("page/", extra={"HDP_S3_LIST_PAGE": page})
        assert [k for k, _ in got] == want, page
        assert all(size == "3" for _, size in got)


def test_wrong_secret_is_one_line_access_denied(laketool, s3, tmp_path):
    bucket = new_bucket()
    good = s3_lake(laketool, s3, tmp_path, url="s3://%s" % bucket)
    good.run("ensure")
    good.run("put", "k", write(tmp_path / "f", b"v"))
    bad_secret = "WRONG-secret-do-not-print-42"
    for args in (["get", "k"], ["head", "k"], ["ls"], ["ensure"],
                 ["put", "k2", str(tmp_path / "f")]):
        p = good.run(*args, check=False, extra={"HDP_S3_SECRET_KEY": bad_secret})
        assert p.returncode == 1, args
        err = p.stderr.decode()
        assert len(err.strip().splitlines()) == 1, err
        assert "access denied" in err and "HDP_S3_SECRET_KEY" in err, err
        assert bad_secret not in err and s3.secret_key not in err
        assert bad_secret.encode() not in p.stdout
    p = good.run("get", "k", check=False, extra={"HDP_S3_ACCESS_KEY": "nobody"})
    assert p.returncode == 1 and b"access denied" in p.stderr


def test_missing_bucket_on_get_is_clear(laketool, s3, tmp_path):
    lk = s3_lake(laketool, s3, tmp_path, url="s3://no-such-bucket-here/x")
    # (not put: SeaweedFS may create a missing bucket on the first PUT of an object)
    for args in (["get", "k"], ["head", "k"], ["ls"], ["del", "k"]):
        p = lk.run(*args, check=False)
        assert p.returncode == 1, args
        assert p.stderr.decode().strip() == (
            "laketool: S3 bucket 'no-such-bucket-here' does not exist at %s" % s3.endpoint)


def test_unreachable_endpoint_after_retries(laketool, s3, tmp_path):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        ep = "http://127.0.0.1:%d" % port
        lk = s3_lake(laketool, s3, tmp_path, HDP_S3_ENDPOINT=ep, HDP_S3_MAX_TRIES="3",
                     HDP_S3_BACKOFF_MS="10")
        p = lk.run("get", "k", check=False)
    assert p.returncode == 1
    err = p.stderr.decode().strip()
    assert err.startswith("laketool: cannot reach S3 endpoint %s: " % ep), err
    assert "after 3 tries" in err and len(err.splitlines()) == 1
    assert s3.secret_key not in err


def test_bad_settings_are_clear(laketool, s3, tmp_path):
    lk = s3_lake(laketool, s3, tmp_path, url="s3://Bad_Name/x")
    p = lk.run("ls", check=False)
    assert p.returncode == 1 and b"bucket name" in p.stderr
    lk = s3_lake(laketool, s3, tmp_path, HDP_S3_ACCESS_KEY="")
    p = lk.run("ls", check=False)
    assert p.returncode == 1 and b"HDP_S3_ACCESS_KEY" in p.stderr
