"""Secrets, everywhere at once (issue 11 #6). Every secret hdp takes is set to a distinctive
value: the S3 access and secret keys, the Redis password, the PostgreSQL password (in both DSNs,
key=value and URI), the ClickHouse password, the API token and the Telegram bot token. Then
every command and endpoint runs, with the right configuration and with wrong ones (wrong
passwords and keys, unreachable hosts, malformed URLs and DSNs that carry the secret, a Telegram
that answers 401/500 echoing the token). Every stdout, stderr, HTTP answer (head and body), log,
the warehouse's ops tables and the messages Telegram received are collected; none may contain a
secret, raw, percent-encoded or base64. The one allowed place of the bot token is the path of
the Bot API's URL. A bad configuration's exit is non-zero with one clear line on stderr.

Real services: PostgreSQL (a role with a SCRAM password), Redis (requirepass), ClickHouse (a
user with a password), SeaweedFS S3 (signatures checked); Telegram is a local HTTP stub."""
import base64
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.parse

import psycopg2
import pytest

from chserver import start_clickhouse
from pgserver import add_password_role, start_postgres, stop_postgres
from s3server import s3_server
from services import free_port, start_redis, stop_process, wait_port
from stack import HDP, Stack

HEX = secrets.token_hex(6)
PG_PW = f"Pg@S3cr3t-{HEX}"
REDIS_PW = f"Rd:S3cr3t@{HEX}"
CH_PW = f"Ch-S3cr3t/{HEX}"
S3_AK = f"AKS3CR3T{HEX.upper()}"
S3_SK = f"S3cr3t/{HEX}+SecretKey"
API_TOKEN = f"Api-S3cr3t-{HEX}"
TG_TOKEN = f"{int(HEX[:6], 16)}:Tg-S3cr3t-{HEX}"
SECRETS = {"PostgreSQL password": PG_PW, "Redis password": REDIS_PW,
           "ClickHouse password": CH_PW, "S3 access key": S3_AK, "S3 secret key": S3_SK,
           "API token": API_TOKEN, "Telegram token": TG_TOKEN}
PG_ROLE = "hdpsec"
BUCKET = "hdp-secrets"
T0 = time.monotonic()  # for the progress lines a failing test shows


def q(s):
    return urllib.parse.quote(s, safe="")


def b64(s):
    return base64.b64encode(s.encode()).decode()


def _forms():
    """(what, text) of every form a secret may leak in."""
    out = []
    for name, v in SECRETS.items():
        out += [(name, v), (f"{name}, percent-encoded", q(v)),
                (f"{name}, form-encoded", urllib.parse.quote_plus(v)),
                (f"{name}, base64", b64(v).rstrip("=")),
                (f"{name}, base64url", base64.urlsafe_b64encode(v.encode()).decode().rstrip("="))]
    for user, pw in (("hdp", CH_PW), (PG_ROLE, PG_PW), ("default", REDIS_PW)):
        out.append((f"{user}:password, base64 (Basic auth)", b64(f"{user}:{pw}").rstrip("=")))
    return out


FORMS = _forms()


def leaks(text):
    return [what for what, form in FORMS if form in text]


def assert_clean(seen):
    """seen: [(where, text)]. Fails naming every place a secret appears, with its context."""
    found = []
    for where, text in seen:
        for what, form in FORMS:
            i = text.find(form)
            if i >= 0:
                found.append(f"{what} in {where}: ...{text[max(0, i - 80):i + len(form) + 40]!r}")
    assert not found, "secrets leaked:\n" + "\n".join(found[:30])


# ---------------------------------------------------------------- the stack

def terminate(p):
    """SIGTERM (when still running), then what it printed; SIGKILL after 30 s."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        return p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.communicate()


class SecretStack(Stack):
    """Stack's processes and helpers, on services that all need their secret."""

    def __init__(self, tmpdir, s3, bot):
        self.tmp = str(tmpdir)
        self.procs, self.seen = {}, []
        self.pg = start_postgres(tmpdir)
        self.ch = self.redis = None
        try:
            add_password_role(self.pg, PG_ROLE, PG_PW)
            self.ch = start_clickhouse(tmpdir, password=CH_PW)
            self.redis, self.redis_port = start_redis(tmpdir, persistent=True,
                                                      password=REDIS_PW)
        except BaseException:
            self.close()
            raise
        self.http_port = free_port()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("HDP_", "TELEGRAM_"))}
        self.env.update(s3.env(f"s3://{BUCKET}/lake"))
        self.env.update({
            "HDP_S3_ACCESS_KEY": S3_AK, "HDP_S3_SECRET_KEY": S3_SK,
            "HDP_SOURCE_DSN": (f"host=127.0.0.1 port={self.pg.port} user={PG_ROLE} "
                               f"password='{PG_PW}' dbname=shop"),
            "HDP_DWH_DSN": f"postgresql://{PG_ROLE}:{q(PG_PW)}@127.0.0.1:{self.pg.port}/dwh",
            "HDP_REDIS_URL": f"redis://:{q(REDIS_PW)}@127.0.0.1:{self.redis_port}/0",
            "HDP_CLICKHOUSE_URL": self.ch.url,
            "HDP_API_TOKEN": API_TOKEN,
            "TELEGRAM_TOKEN": TG_TOKEN, "TELEGRAM_CHAT_ID": "-1001",
            "HDP_TELEGRAM_API": bot.url,
            "HDP_HTTP_ADDR": f"127.0.0.1:{self.http_port}",
            "HDP_SEGMENT_SECONDS": "1", "HDP_SERVE_CACHE_MS": "50",
            "HDP_BATCH_INTERVAL": "3600", "HDP_LOG_LEVEL": "debug",
            "HDP_ENV_FILE": os.devnull,
            "HDP_VAR_DIR": os.path.join(self.tmp, "var"),
        })
        self.run("init")

    def run(self, *args, env=None, timeout=120, where=None):
        """Runs hdp once; its stdout and stderr are recorded for the leak check."""
        out = subprocess.run([HDP, *args], env=dict(self.env, **(env or {})),
                             capture_output=True, text=True, timeout=timeout)
        where = where or "hdp " + " ".join(args)
        self.seen += [(f"{where}: stdout", out.stdout), (f"{where}: stderr", out.stderr)]
        why = [ln for ln in out.stderr.splitlines() if ln.strip() and not LOG_LINE.match(ln)]
        print(f"{time.monotonic() - T0:6.1f}s {where}: exit {out.returncode}"
              + (f" | {why[-1][:200]}" if why else ""))
        return out

    def ok(self, *args, **kw):
        out = self.run(*args, **kw)
        assert out.returncode == 0, f"hdp {' '.join(args)} exited {out.returncode}: {out.stderr}"
        return out

    def briefly(self, seconds, *args, env=None, where=None):
        """Runs a long-running command for up to `seconds`, then SIGTERM; (exit code, output)."""
        p = subprocess.Popen([HDP, *args], env=dict(self.env, **(env or {})),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            out, err = terminate(p)
        where = where or "hdp " + " ".join(args)
        self.seen += [(f"{where}: stdout", out), (f"{where}: stderr", err)]
        return p.returncode, out, err

    def http(self, method, path, token=None, port=None, body=None, read_limit=None):
        """(status, headers text, body text) of one request to serve; all recorded. With
        read_limit (an event stream), only up to the first event."""
        c = http.client.HTTPConnection("127.0.0.1", port or self.http_port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        c.request(method, path, body=body if body is not None else
                  (b"" if method == "POST" else None), headers=headers)
        r = c.getresponse()
        if read_limit:  # an event stream: its head and first event
            data = b""
            while b"\n\n" not in data and len(data) < read_limit:
                data += r.readline()
        else:
            data = r.read()
        c.close()
        text = data.decode(errors="replace")
        head = "\n".join(f"{k}: {v}" for k, v in r.getheaders())
        where = f"{method} {path} (token {'right' if token == API_TOKEN else token and 'wrong'})"
        self.seen += [(f"{where}: head", f"HTTP {r.status}\n{head}"), (f"{where}: body", text)]
        return r.status, head, text

    def dwh(self, sql, args=None):
        with psycopg2.connect(self.pg.dsn("dwh")) as c, c.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None

    def close(self):
        for p in self.procs.values():
            stop_process(p)
        self.procs.clear()
        if self.redis:
            stop_process(self.redis)
        if self.ch:
            self.ch.stop()
        stop_postgres(self.pg)


@pytest.fixture(scope="module")
def st(tmp_path_factory, bot):
    with s3_server(access_key=S3_AK, secret_key=S3_SK) as s3:
        s = None
        try:
            s = SecretStack(tmp_path_factory.mktemp("secrets"), s3, bot)
            s.start("capture", "capture")
            s.start("speed", "speed")
            s.start("serve", "serve")
            yield s
        finally:
            if s is not None:
                s.close()


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (DEBUG|INFO|WARN|ERROR) ")


def one_line(out, cmd):
    """Besides log lines (time-stamped), stderr is one line: `hdp CMD: why`."""
    lines = [ln for ln in out.stderr.splitlines() if ln.strip() and not LOG_LINE.match(ln)]
    return len(lines) == 1 and lines[0].startswith(f"hdp {cmd}: ")


# ---------------------------------------------------------------- the right configuration


def test_every_command_and_endpoint_with_the_right_configuration(st, bot):
    st.ok("--help")
    for cmd in ("init", "up", "generate", "capture", "speed", "serve", "scheduler", "run",
                "rebuild", "status", "reconcile", "config"):
        st.ok(cmd, "--help")
    st.ok("config")
    st.ok("config", "--markdown")
    st.ok("generate", "--orders", "400", "--days", "2", "--seed", "7")
    st.ok("generate", "--rate", "40", "--duration", "1", "--seed", "8")
    st.wait_caught_up(slot="hdp_lake")
    st.wait_caught_up()
    time.sleep(2.5)  # the last segment closes
    for task in ("compact", "vault", "marts", "publish", "gc", "notify", "batch"):
        st.ok("run", task)
    st.ok("scheduler", "--once")
    st.ok("status")
    st.ok("status", "--json")
    st.ok("reconcile", "--wait", "30")
    speed = st.procs.pop("speed")
    speed.send_signal(signal.SIGTERM)
    speed.wait(timeout=60)
    st.ok("rebuild", "speed", "--wait", "60")
    st.start("speed", "speed")
    # every endpoint, with the right token, a wrong one and none
    paths = ["/", "/docs", "/openapi.json", "/health", "/metrics", "/api/v1/pipeline/status",
             "/api/v1/pipeline/runs", "/api/v1/revenue", "/api/v1/revenue/by-city",
             "/api/v1/revenue/by-category", "/api/v1/revenue/timeseries",
             "/api/v1/cities/average-check", "/api/v1/users/1/history",
             "/api/v1/user/1/history", "/no/such/path"]
    spec = json.loads(st.http("GET", "/openapi.json")[2])
    paths += [p.replace("{id}", "1") for p in spec["paths"] if p not in paths and
              "stream" not in p]
    for p in paths:
        for token in (API_TOKEN, API_TOKEN + "x", None):
            st.http("GET", p, token=token)
    assert st.http("GET", "/health", token=API_TOKEN)[0] == 200
    assert st.http("GET", "/metrics", token=API_TOKEN)[0] == 200
    assert st.http("GET", "/api/v1/pipeline/status", token=API_TOKEN)[0] == 200
    assert st.http("POST", "/api/v1/pipeline/runs")[0] == 401
    assert st.http("POST", "/api/v1/pipeline/runs", token=API_TOKEN[:-1])[0] == 403
    assert st.http("POST", "/api/v1/pipeline/runs", token=API_TOKEN + "x")[0] == 403
    assert st.http("POST", "/api/v1/pipeline/runs", token=API_TOKEN)[0] == 202
    st.http("GET", "/api/v1/stream", token=API_TOKEN + "x")
    st.ok("scheduler", "--once")  # takes the queued request
    assert st.http("GET", "/api/v1/stream", token=API_TOKEN, read_limit=2000)[0] == 200
    for path, body, _ in bot.requests:  # the messages themselves: the last test
        assert path == f"/bot{TG_TOKEN}/sendMessage"
    assert_clean(st.seen)


# ---------------------------------------------------------------- Telegram refusing


@pytest.mark.parametrize("mode", ["401", "500"])
def test_telegram_refusing_with_the_token_in_its_answer(st, bot, mode):
    """A refusal's description is kept (masked) in the outbox, shown by status and the API."""
    def queued():
        return st.dwh("SELECT count(*) FROM ops.notification")[0][0]

    def due_now():  # no waiting out the outbox's backoff
        st.dwh("UPDATE ops.notification SET next_try_at = clock_timestamp() "
               "WHERE status = 'pending'")

    bot.mode = mode
    n0, k0 = len(bot.requests), queued()
    try:
        st.ok("generate", "--rate", "20", "--duration", "1", "--seed", "9" + mode)
        st.wait_caught_up(slot="hdp_lake")
        for _ in range(10):  # a run that moved data (a segment closed) queues its summary
            st.ok("scheduler", "--once")
            if queued() > k0:
                break
            time.sleep(0.5)
        assert queued() > k0, "no run queued a summary"
        due_now()
        out = st.run("run", "notify")
        assert len(bot.requests) > n0, "nothing was sent to Telegram"
        errors = [r[0] for r in st.dwh("SELECT last_error FROM ops.notification "
                                       "WHERE status = 'pending' AND last_error IS NOT NULL")]
        assert any(f"HTTP {mode}" in e and "/bot" in e and "***" in e for e in errors), errors
        st.run("status")
        st.run("status", "--json")
        for p in ("/api/v1/pipeline/status", "/api/v1/pipeline/runs", "/health", "/metrics"):
            st.http("GET", p, token=API_TOKEN)
    finally:
        bot.mode = "ok"
    assert f"HTTP {mode}" in out.stdout + out.stderr, out
    st.seen.append(("ops.notification.last_error", "\n".join(errors)))
    assert_clean(st.seen)
    due_now()
    st.ok("run", "notify")  # the outbox drains once Telegram takes messages again
    assert st.dwh("SELECT count(*) FROM ops.notification WHERE status = 'pending'")[0][0] == 0
    for path, body, _ in bot.requests[n0:]:
        assert path == f"/bot{TG_TOKEN}/sendMessage"
        assert not leaks(json.dumps(body)), body


# ---------------------------------------------------------------- wrong configurations


def bad_cases(st):
    """{case: (environment changes, [commands that must fail in one line], [commands only
    watched: run for up to a few seconds (serve: asked on its endpoints), output checked])}."""
    e = st.env
    pg = st.pg.port
    closed = free_port()  # nothing listens there
    return {
        "wrong PostgreSQL password": (
            {"HDP_SOURCE_DSN": e["HDP_SOURCE_DSN"].replace(PG_PW, PG_PW + "x"),
             "HDP_DWH_DSN": e["HDP_DWH_DSN"].replace(q(PG_PW), q(PG_PW) + "x")},
            [["init"], ["generate", "--orders", "1"], ["run", "vault", "--attempts", "1"],
             ["run", "batch", "--attempts", "1"], ["scheduler", "--once"],
             ["reconcile", "--wait", "0"], ["capture"], ["speed"], ["serve"]],
            [["rebuild", "speed", "--wait", "1"], ["up", "--no-services", "--no-init"]]),
        "wrong Redis password": (
            {"HDP_REDIS_URL": f"redis://:{q(REDIS_PW + 'x')}@127.0.0.1:{st.redis_port}/0"},
            [["init"], ["speed"]],
            [["serve"], ["run", "publish", "--attempts", "1"]]),  # publish: only with news
        "wrong S3 secret key": (
            {"HDP_S3_SECRET_KEY": S3_SK + "x"},
            [["init"], ["run", "compact", "--attempts", "1"], ["run", "gc", "--attempts", "1"],
             ["capture"]],
            [["serve"]]),
        "wrong S3 access key": (
            {"HDP_S3_ACCESS_KEY": S3_AK + "X"},
            [["init"], ["run", "compact", "--attempts", "1"], ["capture"]], []),
        "wrong ClickHouse password": (
            {"HDP_CLICKHOUSE_URL": st.ch.url.replace(q(CH_PW), q(CH_PW + "x"))},
            [["init"], ["run", "marts", "--attempts", "1"]], [["serve"]]),
        "unreachable hosts": (
            {"HDP_SOURCE_DSN": e["HDP_SOURCE_DSN"].replace(f"port={pg}", f"port={closed}"),
             "HDP_DWH_DSN": e["HDP_DWH_DSN"].replace(f":{pg}/", f":{closed}/"),
             "HDP_REDIS_URL": e["HDP_REDIS_URL"].replace(f":{st.redis_port}/", f":{closed}/"),
             "HDP_CLICKHOUSE_URL": st.ch.url.replace(f":{st.ch.http_port}/", f":{closed}/"),
             "HDP_S3_ENDPOINT": f"http://127.0.0.1:{closed}",
             "HDP_TELEGRAM_API": f"http://127.0.0.1:{closed}"},
            [["init"], ["generate", "--orders", "1"], ["run", "batch", "--attempts", "1"],
             ["run", "notify", "--attempts", "1"], ["reconcile", "--wait", "0"]],
            [["capture"], ["speed"], ["serve"], ["scheduler", "--once"]]),
        "unknown host names": (
            {"HDP_SOURCE_DSN": e["HDP_SOURCE_DSN"].replace("127.0.0.1", "pg.invalid"),
             "HDP_DWH_DSN": e["HDP_DWH_DSN"].replace("127.0.0.1", "pg.invalid"),
             "HDP_REDIS_URL": e["HDP_REDIS_URL"].replace("127.0.0.1", "redis.invalid"),
             "HDP_CLICKHOUSE_URL": st.ch.url.replace("127.0.0.1", "ch.invalid"),
             "HDP_S3_ENDPOINT": "http://s3.invalid:9000"},
            [["init"], ["run", "compact", "--attempts", "1"]], []),
        "S3 endpoint with userinfo, unreachable": (
            {"HDP_S3_ENDPOINT": f"http://{S3_AK}:{q(S3_SK)}@127.0.0.1:{closed}"},
            [["init"], ["run", "compact", "--attempts", "1"]], []),
        "malformed S3 endpoint with the keys": (
            {"HDP_S3_ENDPOINT": f"ftp://{S3_AK}:{S3_SK}@127.0.0.1:1"},
            [["config"], ["init"], ["status"]], []),
        "lake URL with the keys in it": (
            {"HDP_LAKE_URL": f"s3://{S3_AK}:{q(S3_SK)}@{BUCKET}/lake"},
            [["init"], ["run", "compact", "--attempts", "1"]], []),
        "malformed Redis URL (bad port)": (
            {"HDP_REDIS_URL": f"redis://:{q(REDIS_PW)}@127.0.0.1:notaport/0"},
            [["config"], ["status"], ["serve"], ["speed"]], []),
        "malformed Redis URL (raw password)": (
            {"HDP_REDIS_URL": f"redis://:{REDIS_PW}@127.0.0.1:{st.redis_port}/x"},
            [["config"], ["init"]], []),
        "malformed ClickHouse URL (a path)": (
            {"HDP_CLICKHOUSE_URL": f"http://hdp:{q(CH_PW)}@127.0.0.1:{st.ch.http_port}/db/x"},
            [["config"], ["init"]], []),
        "malformed ClickHouse URL (scheme)": (
            {"HDP_CLICKHOUSE_URL": f"ftp://hdp:{CH_PW}@127.0.0.1/"},
            [["config"], ["init"]], []),
        "malformed source DSN URI (bracket)": (
            {"HDP_SOURCE_DSN": f"postgresql://{PG_ROLE}:{q(PG_PW)}@[::1:{pg}/shop"},
            [["init"], ["generate", "--orders", "1"], ["capture"], ["speed"]], []),
        "malformed source DSN URI (bad escape)": (
            {"HDP_SOURCE_DSN": f"postgresql://{PG_ROLE}:{q(PG_PW)}%zz@127.0.0.1:{pg}/shop"},
            [["init"], ["generate", "--orders", "1"], ["capture"]], []),
        "malformed source DSN URI (bad parameter)": (
            {"HDP_SOURCE_DSN": f"postgresql://127.0.0.1:{pg}/shop?password={q(PG_PW)}&bogus=1"},
            [["init"], ["generate", "--orders", "1"]], []),
        "malformed DSN (missing =)": (
            {"HDP_DWH_DSN": f"host=127.0.0.1 port={pg} password={PG_PW} dbname"},
            [["init"], ["run", "vault", "--attempts", "1"], ["scheduler", "--once"]], []),
        "malformed DSN (unterminated quote)": (
            {"HDP_DWH_DSN": f"host=127.0.0.1 port={pg} user={PG_ROLE} password='{PG_PW}"},
            [["init"], ["run", "vault", "--attempts", "1"]], []),
        "malformed DSN (a password with a space, unquoted)": (
            {"HDP_DWH_DSN": f"host=127.0.0.1 port={pg} user={PG_ROLE} password={PG_PW} "
                            f"{PG_PW} dbname=dwh"},
            [["init"], ["run", "vault", "--attempts", "1"], ["scheduler", "--once"]], []),
        "malformed Telegram API URL": (
            {"HDP_TELEGRAM_API": f"telegram://{TG_TOKEN}@127.0.0.1"},
            [["config"], ["run", "notify"]], []),
    }


CASES = ["wrong PostgreSQL password", "wrong Redis password", "wrong S3 secret key",
         "wrong S3 access key", "wrong ClickHouse password", "unreachable hosts",
         "unknown host names", "S3 endpoint with userinfo, unreachable",
         "malformed S3 endpoint with the keys", "lake URL with the keys in it",
         "malformed Redis URL (bad port)", "malformed Redis URL (raw password)",
         "malformed ClickHouse URL (a path)", "malformed ClickHouse URL (scheme)",
         "malformed source DSN URI (bracket)", "malformed source DSN URI (bad escape)",
         "malformed source DSN URI (bad parameter)", "malformed DSN (missing =)",
         "malformed DSN (unterminated quote)",
         "malformed DSN (a password with a space, unquoted)",
         "malformed Telegram API URL"]


@pytest.mark.parametrize("case", CASES)
def test_a_wrong_configuration_fails_in_one_line_without_a_secret(st, case):
    cases = bad_cases(st)
    assert set(cases) == set(CASES)
    env, failing, watched = cases[case]
    n0 = len(st.seen)
    problems = []
    for args in failing:
        if args[0] in ("capture", "speed", "serve"):
            rc, out, err = st.briefly(20, *args, env=env, where=f"[{case}] hdp {args[0]}")
            res = subprocess.CompletedProcess(args, rc, out, err)
        else:
            res = st.run(*args, env=env, where=f"[{case}] hdp {' '.join(args)}")
        if res.returncode in (0, None, -signal.SIGTERM) or not one_line(res, args[0]):
            problems.append(f"hdp {' '.join(args)}: exit {res.returncode}, "
                            f"stderr {res.stderr!r}")
    for args in watched:
        port = free_port()
        if args[0] != "serve":
            st.briefly(3, *args, env=env, where=f"[{case}] hdp {' '.join(args)} (watched)")
            continue
        p = subprocess.Popen([HDP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=dict(st.env, **env, HDP_HTTP_ADDR=f"127.0.0.1:{port}"),
                             text=True)
        try:
            wait_port(port, timeout=10, proc=p)
            for path in ("/health", "/metrics", "/api/v1/pipeline/status", "/api/v1/revenue",
                         "/api/v1/pipeline/runs"):
                st.http("GET", path, token=API_TOKEN, port=port)
        except RuntimeError:
            pass  # it exited: its output is checked below
        finally:
            out, err = terminate(p)
        st.seen += [(f"[{case}] hdp {' '.join(args)} (watched): stdout", out),
                    (f"[{case}] hdp {' '.join(args)} (watched): stderr", err)]
    for args in (["status"], ["status", "--json"], ["config"]):
        st.run(*args, env=env, where=f"[{case}] hdp {' '.join(args)}")
    assert_clean(st.seen[n0:])
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- what stays behind


def test_logs_warehouse_and_telegram_hold_no_secret(st, bot):
    seen = []
    for name in list(st.procs) + ["capture", "speed", "serve"]:
        path = os.path.join(st.tmp, f"{name}.log")
        if os.path.exists(path):
            seen.append((f"{name}.log", st.log(name)))
    for dirpath, _, files in os.walk(os.path.join(st.tmp, "var")):
        for f in files:
            with open(os.path.join(dirpath, f), errors="replace") as fh:
                seen.append((os.path.join(dirpath, f), fh.read()))
    tables = st.dwh("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'ops' AND table_type = 'BASE TABLE'")
    for (t,) in tables:
        rows = st.dwh(f"SELECT t::text FROM ops.{t} t")
        seen.append((f"dwh ops.{t}", "\n".join(r[0] for r in rows)))
    assert any(mode == "ok" for _, _, mode in bot.requests), "Telegram received no message"
    for path, body, mode in bot.requests:
        assert path == f"/bot{TG_TOKEN}/sendMessage", path  # the one place the token may be
        seen.append((f"a message to Telegram ({mode})", json.dumps(body)))
    assert_clean(seen)
