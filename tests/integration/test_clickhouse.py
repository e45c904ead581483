"""The ClickHouse client (src/io/clickhouse.c) and the ClickHouse parts of `hdp init` and
`hdp status`, against a real clickhouse-server (Debian's 18.16) that the harness starts.

The client is driven through tests/tools/chtool.c, built on build/libhdp.a (or
build/asan/libhdp.a with HDP_TEST_ASAN=1). Its exit codes: 0 ok, 1 HDP_ERR, 3 HDP_RETRY."""
import json
import os
import subprocess
import time
import urllib.parse

import pytest
import requests

from chserver import start_clickhouse
from services import free_port
from stack import HDP, ROOT, Stack

PKGS = "libpq hiredis jansson libcrypto libcurl libzstd"
# Characters that must be %-encoded in the URL, so the client's decoding is exercised too.
PASSWORD = "Pw@:/" + os.urandom(6).hex()
OK, ERR, RETRY = 0, 1, 3
SPECIALS = ["", "tab\there", "new\nline", "back\\slash", "quote'\"", "utf8 é€😀",
            "cr\r bs\b ff\f", "\\N", "nul\0byte", "plain"]


def gen_row(i):
    """The row chtool generates for id i (see tests/tools/chtool.c)."""
    cents = (i * 7919) % 10000000 - 5000000
    sign = "-" if cents < 0 else ""
    d = f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
    return (i, SPECIALS[i % 10] + str(i), None if i % 7 == 0 else f"n{3 * i}", d)


@pytest.fixture(scope="session")
def chtool(tmp_path_factory):
    asan = os.environ.get("HDP_TEST_ASAN") == "1"
    lib = os.path.join(ROOT, "build/asan/libhdp.a" if asan else "build/libhdp.a")
    subprocess.run(["make", "-s", "asan" if asan else "all"], cwd=ROOT, check=True)
    out = str(tmp_path_factory.mktemp("chtool") / "chtool")
    cflags = subprocess.run(["pkg-config", "--cflags", "libcurl"], check=True,
                            capture_output=True, text=True).stdout.split()
    libs = subprocess.run(["pkg-config", "--libs"] + PKGS.split(), check=True,
                          capture_output=True, text=True).stdout.split()
    san = ["-fsanitize=address,undefined"] if asan else []
    subprocess.run(["cc", "-std=c17", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                    "-I" + os.path.join(ROOT, "src")] + cflags + san +
                   [os.path.join(ROOT, "tests/tools/chtool.c"), lib, "-o", out] + libs +
                   ["-lsnappy", "-lpthread", "-lm"], check=True)
    return out


@pytest.fixture(scope="module")
def ch(tmp_path_factory):
    server = start_clickhouse(tmp_path_factory.mktemp("ch"), password=PASSWORD)
    server.query("CREATE DATABASE IF NOT EXISTS hdp")
    yield server
    server.stop()


class Tool:
    def __init__(self, path, url):
        self.path = path
        self.env = dict(os.environ, HDP_ENV_FILE=os.devnull, HDP_CLICKHOUSE_URL=url)

    def __call__(self, *args, stdin=None, timeout=300, **knobs):
        env = dict(self.env)
        env.update({"CHTOOL_" + k.upper(): str(v) for k, v in knobs.items()})
        r = subprocess.run([self.path, *args], env=env, capture_output=True, text=True,
                           input=stdin, timeout=timeout)
        assert PASSWORD not in r.stdout + r.stderr
        if r.returncode not in (OK, ERR, RETRY):
            raise AssertionError(f"chtool {args[0]} exited {r.returncode}: {r.stderr}")
        return r

    def popen(self, *args, **knobs):
        env = dict(self.env)
        env.update({"CHTOOL_" + k.upper(): str(v) for k, v in knobs.items()})
        return subprocess.Popen([self.path, *args], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def tool(chtool, ch):
    return Tool(chtool, ch.url)


def one_line(r):
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def query_log(ch, query_id):
    """(type, query) rows of system.query_log for query_id; type 1 start, 2 finish,
    3 exception before start, 4 exception while running."""
    ch.query("SYSTEM FLUSH LOGS")
    out = ch.query(f"SELECT type, query FROM system.query_log WHERE query_id = '{query_id}' "
                   "ORDER BY event_time, type FORMAT JSONEachRow")
    return [(int(r["type"]), r["query"]) for r in map(json.loads, out.splitlines())]


# ---------------------------------------------------------------- the client


def test_version_and_the_masked_url(tool, ch):
    r = tool("version")
    assert r.returncode == OK, r.stderr
    assert r.stdout.strip() == ch.query("SELECT version()").strip()
    assert r.stdout.strip().startswith("18.16.")  # what these tests ran against
    r = tool("describe")
    assert r.stdout.strip() == f"http://hdp:***@127.0.0.1:{ch.http_port}/?database=hdp"


def test_query_id_and_settings_reach_the_server(tool, ch):
    qid = "hdp-test-" + os.urandom(4).hex()
    r = tool("query", "SELECT 40 + 2, currentDatabase()", query_id=qid,
             settings="log_queries=1,max_execution_time=33")
    assert r.returncode == OK, r.stderr
    assert r.stdout == "42\thdp\n"
    log = query_log(ch, qid)
    assert [t for t, _ in log] == [1, 2], log
    assert all(q == "SELECT 40 + 2, currentDatabase()" for _, q in log)
    names = ch.query("SELECT Settings.Names, Settings.Values FROM system.query_log WHERE "
                     f"query_id = '{qid}' AND type = 2 FORMAT JSONEachRow")
    row = json.loads(names)
    assert dict(zip(row["Settings.Names"], row["Settings.Values"]))["max_execution_time"] == "33"
    # a setting takes effect: the server stops a query that runs too long
    r = tool("query", "SELECT sleep(3)", settings="max_execution_time=1")
    assert r.returncode == ERR and "Code: 159" in one_line(r)


def test_one_connection_is_kept_alive_across_requests(tool, ch):
    qid = "hdp-ka-" + os.urandom(4).hex()
    r = tool("query", "SELECT 1", query_id=qid, repeat=5, settings="log_queries=1")
    assert r.returncode == OK and r.stdout == "1\n" * 5, r.stderr
    ch.query("SYSTEM FLUSH LOGS")
    ports = ch.query("SELECT DISTINCT port FROM system.query_log WHERE query_id LIKE "
                     f"'{qid}-%' AND type = 2 FORMAT TSV").split()
    assert len(ports) == 1, ports  # the client's TCP port: the same connection each time
    n = ch.query(f"SELECT count() FROM system.query_log WHERE query_id LIKE '{qid}-%' "
                 "AND type = 2")
    assert int(n) == 5


def test_duplicate_query_id_is_refused_while_the_first_runs(tool, ch):
    qid = "hdp-dup-" + os.urandom(4).hex()
    first = tool.popen("query", "SELECT sleep(3)", query_id=qid)
    deadline = time.monotonic() + 10
    while ch.query(f"SELECT count() FROM system.processes WHERE query_id = '{qid}'").strip() \
            != "1":
        assert time.monotonic() < deadline, "the first query never showed up"
        time.sleep(0.05)
    r = tool("query", "SELECT 1", query_id=qid)
    out, err = first.communicate(timeout=30)
    assert first.returncode == OK, err
    assert r.returncode == RETRY  # 216: transient, for the caller to try later
    assert "Code: 216" in one_line(r) and "already running" in r.stderr


def test_exception_text_of_a_bad_query(tool):
    r = tool("query", "SELEC 1")
    assert r.returncode == ERR
    line = one_line(r)
    assert line.startswith("chtool: ClickHouse at http://hdp:***@127.0.0.1:")
    assert "Code: 62, e.displayText() = DB::Exception: Syntax error" in line
    assert "e.what()" not in line and line.endswith("[code 62]")
    r = tool("exec", "DROP TABLE hdp.no_such_table")
    assert r.returncode == ERR and "Code: 60" in one_line(r) and "no_such_table" in r.stderr


def test_exception_after_the_first_rows_is_an_error_not_data(tool):
    # Without wait_end_of_query the server answers 200, sends 900,000 rows, then appends the
    # exception text as if it were one more row.
    sql = "SELECT throwIf(number = 900000) FROM numbers(1000000)"
    for cmd in ("stream", "query"):
        r = tool(cmd, sql)
        assert r.returncode == ERR, (cmd, r.stdout[-200:])
        assert "Code: 395" in one_line(r) and r.stdout == ""


def test_streamed_result_of_a_million_rows_in_bounded_memory(tool, ch):
    sql = ("SELECT number, hex(MD5(toString(number))), hex(MD5(toString(number + 1))), "
           "hex(MD5(toString(number + 2))) FROM numbers(1000000)")
    size = int(ch.query("SELECT sum(length(toString(number)) + 3 * 32 + 4) FROM "
                        "numbers(1000000)"))
    r = tool("stream", sql)
    assert r.returncode == OK, r.stderr
    f = r.stdout.split()
    got = dict(zip(f[0::2], map(int, f[1::2])))
    assert got["lines"] == 1000000
    assert got["sum"] == sum(range(1000000))
    assert got["bytes"] == size > 100 * 1024 * 1024
    assert got["chunks"] > 1000  # lines were cut by chunk boundaries all along
    assert 0 < got["maxrss_kb"] < 48 * 1024, got  # the result is > 100 MiB
    # the callback stops the query: its result comes back as is
    r = tool("stream", sql, stop_after=1000)
    assert r.returncode == ERR and "stopped by the callback after 1000 lines" in one_line(r)


def python_readback(ch, table, n):
    """Every row of table read over HTTP as JSON by Python, compared with gen_row."""
    r = requests.post(f"http://127.0.0.1:{ch.http_port}/", stream=True, timeout=300, data=(
        f"SELECT id, s, n, toString(d) AS d FROM hdp.{table} ORDER BY id FORMAT JSONEachRow"))
    assert r.status_code == 200, r.text
    count = 0
    for line in r.iter_lines():
        row = json.loads(line)
        got = (int(row["id"]), row["s"], row["n"], row["d"])
        assert got == gen_row(count), (got, gen_row(count))
        count += 1
    assert count == n


@pytest.mark.parametrize("fmt", ["tsv", "rowbinary"])
def test_streamed_insert_of_a_million_rows_reads_back_exactly(tool, ch, fmt):
    table = f"ins_{fmt}"
    ch.query(f"DROP TABLE IF EXISTS hdp.{table}")
    ch.query(f"CREATE TABLE hdp.{table} (id UInt64, s String, n Nullable(String), "
             "d Decimal(12, 2)) ENGINE = MergeTree ORDER BY id")
    r = tool("insert", table, fmt, "1000000")
    assert r.returncode == OK, r.stderr
    f = r.stdout.split()
    got = dict(zip(f[0::2], map(int, f[1::2])))
    assert got["rows"] == 1000000 and got["bytes"] > 30 * 1024 * 1024
    assert got["max_piece"] < 128 * 1024 and 0 < got["maxrss_kb"] < 48 * 1024, got
    r = tool("check", table, "1000000")  # read back through ch_query_stream + unescaping
    assert r.returncode == OK and r.stdout.startswith("ok 1000000 "), r.stderr
    python_readback(ch, table, 1000000)


def test_insert_from_memory_and_from_stdin(tool, ch):
    ch.query("DROP TABLE IF EXISTS hdp.ins_buf")
    ch.query("CREATE TABLE hdp.ins_buf (id UInt64, s String, n Nullable(String), "
             "d Decimal(12, 2)) ENGINE = MergeTree ORDER BY id")
    r = tool("insert-buf", "ins_buf", "tsv", "50000")
    assert r.returncode == OK, r.stderr
    python_readback(ch, "ins_buf", 50000)
    # Python writes TSV the way PostgreSQL's COPY TO does (\\ \t \n \r \b \f \v escaped)
    ch.query("TRUNCATE TABLE hdp.ins_buf")
    esc = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\b": "\\b", "\f": "\\f",
           "\v": "\\v"}
    lines = []
    for i in range(1, 7):  # no NUL: PostgreSQL text cannot hold one
        _, s, n, d = gen_row(i * 10 + 1)
        s += "\v" + "\\N"
        lines.append(f"{i}\t{''.join(esc.get(c, c) for c in s)}\t{n or chr(92) + 'N'}\t{d}")
    r = tool("insert-stdin", "INSERT INTO ins_buf FORMAT TabSeparated",
             stdin="\n".join(lines) + "\n")
    assert r.returncode == OK, r.stderr
    out = ch.query("SELECT s FROM hdp.ins_buf ORDER BY id FORMAT JSONEachRow")
    assert [json.loads(x)["s"] for x in out.splitlines()] == \
        [gen_row(i * 10 + 1)[1] + "\v\\N" for i in range(1, 7)]


def test_bad_insert_data_is_the_servers_error(tool, ch):
    ch.query("CREATE TABLE IF NOT EXISTS hdp.ins_bad (a UInt64) ENGINE = MergeTree ORDER BY a")
    r = tool("insert-stdin", "INSERT INTO ins_bad FORMAT TabSeparated",
             stdin="1\n2\nnot a number\n" + "3\n" * 200000)
    assert r.returncode == ERR and "Code: 27" in one_line(r)
    assert ch.query("SELECT count() FROM hdp.ins_bad").strip() == "0"


def test_producer_failure_aborts_the_insert(tool, ch):
    ch.query("DROP TABLE IF EXISTS hdp.ins_abort")
    ch.query("CREATE TABLE hdp.ins_abort (id UInt64, s String, n Nullable(String), "
             "d Decimal(12, 2)) ENGINE = MergeTree ORDER BY id")
    r = tool("insert", "ins_abort", "tsv", "3000000", fail_after=1500000)
    assert r.returncode == ERR
    assert one_line(r).startswith("chtool: producer failed on purpose after 1500000 rows")
    # No row past the failure reached the table. ClickHouse may have stored the first blocks
    # (it inserts as it parses): writers must stage and REPLACE PARTITION.
    stored, top = map(int, ch.query("SELECT count(), max(id) FROM hdp.ins_abort").split())
    assert stored <= 1500000 and (stored == 0 or top == stored - 1)


def test_wrong_credentials_are_permanent_and_named(chtool, ch):
    for url, user, code in [(ch.url_for("hdp", "not-" + PASSWORD[:8]), "hdp", 193),
                            (ch.url_for("nobody", "x"), "nobody", 192),
                            (ch.url_for("hdp"), "hdp", 194)]:
        r = Tool(chtool, url)("version", max_tries=4)
        assert r.returncode == ERR, r.stderr  # not RETRY: waiting does not mend a password
        line = one_line(r)
        assert f"wrong credentials for user '{user}'" in line and f"[code {code}]" in line
        assert "not-" not in line


def test_script_statements_run_one_by_one_and_idempotently(tool, ch, tmp_path):
    script = tmp_path / "s.sql"
    script.write_text("-- a script like sql/clickhouse/*.sql\n"
                      "CREATE TABLE IF NOT EXISTS script_t (\n"
                      "    a UInt64, -- the key; not the end\n"
                      "    s String DEFAULT 'x;y'\n"
                      ") ENGINE = MergeTree ORDER BY a;\n\n"
                      "CREATE TABLE IF NOT EXISTS script_u AS script_t;\n")
    for _ in range(2):
        r = tool("script", str(script))
        assert r.returncode == OK and r.stdout == "statements 2\n", r.stderr
    assert ch.query("SELECT name FROM system.tables WHERE database = 'hdp' AND name LIKE "
                    "'script_%' ORDER BY name FORMAT TSV") == "script_t\nscript_u\n"
    script.write_text("CREATE TABLE IF NOT EXISTS script_v (a UInt64) ENGINE = Memory;\n\n"
                      "CREATE TABLE oops;\n")
    r = tool("script", str(script))
    assert r.returncode == ERR and "statement at line 3: ClickHouse at" in one_line(r)
    assert r.stdout == "statements 1\n"


# ---------------------------------------------------------------- outages


def test_server_killed_then_retry_then_recovery(tool, ch):
    ch.kill9()
    try:
        r = tool("version", max_tries=3, backoff_ms=20)
        assert r.returncode == RETRY
        assert "unreachable" in one_line(r) and "(after 3 tries)" in r.stderr
        # a client that keeps trying gets its answer once the server is back
        waiting = tool.popen("version", max_tries=100, backoff_ms=100)
        time.sleep(1.0)
        assert waiting.poll() is None  # still trying
    finally:
        ch.restart()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == OK, err
    assert out.decode().strip().startswith("18.16.")


def test_exceptions_are_not_retried(tool, ch):
    qid = "hdp-once-" + os.urandom(4).hex()
    r = tool("query", "SELECT * FROM hdp.no_such_table", query_id=qid, max_tries=5,
             settings="log_queries=1")
    assert r.returncode == ERR and "Code: 60" in r.stderr
    assert [t for t, _ in query_log(ch, qid)] == [3]  # one try: exception before start


def test_a_statement_that_may_have_run_is_not_resent(tool, ch):
    qid = "hdp-exec-" + os.urandom(4).hex()
    r = tool("exec", "SELECT sleep(2)", query_id=qid, timeout_ms=500, max_tries=5,
             settings="log_queries=1")
    assert r.returncode == RETRY
    assert "the statement may have run" in one_line(r)
    time.sleep(2.5)
    assert [t for t, _ in query_log(ch, qid)] == [1, 2]  # it ran, once
    # a read-only query is resent: with the same query_id, while the first still runs
    qid = "hdp-query-" + os.urandom(4).hex()
    r = tool("query", "SELECT sleep(2)", query_id=qid, timeout_ms=500, max_tries=5,
             settings="log_queries=1")
    assert r.returncode == RETRY and "Code: 216" in one_line(r)


def test_a_streamed_insert_is_not_resent_after_a_failure(tool, ch):
    ch.query("CREATE TABLE IF NOT EXISTS hdp.ins_kill (a UInt64) ENGINE = MergeTree ORDER BY a")
    p = tool.popen("insert-stdin", "INSERT INTO ins_kill FORMAT TabSeparated", max_tries=5)
    p.stdin.write(b"1\n" * 100000)
    p.stdin.flush()
    time.sleep(0.5)
    ch.kill9()
    try:
        try:
            p.stdin.write(b"2\n" * 100000)
            p.stdin.close()
        except BrokenPipeError:
            pass
        out, err = p.communicate(timeout=60)
        assert p.returncode == RETRY, err
        assert b"a streamed insert is not resent" in err
    finally:
        ch.restart()


# ---------------------------------------------------------------- hdp init and status


@pytest.fixture(scope="module")
def stack(tmp_path_factory, ch):
    s = Stack(tmp_path_factory.mktemp("chstack"), env={"HDP_CLICKHOUSE_URL": ch.url})
    yield s
    s.close()


def hdp_env(stack, **over):
    env = dict(stack.env)
    env.update(over)
    return env


def run_hdp(stack, *args, **over):
    r = subprocess.run([HDP, *args], env=hdp_env(stack, **over), capture_output=True, text=True,
                       timeout=120)
    assert PASSWORD not in r.stdout + r.stderr
    assert PASSWORD.replace("@", "%40").replace(":", "%3A").replace("/", "%2F") \
        not in r.stdout + r.stderr
    return r


def test_init_creates_the_database_twice_the_same(stack, ch):
    ch.query("DROP DATABASE IF EXISTS hdp_init")
    url = ch.url.replace("database=hdp", "database=hdp_init")
    outs = []
    for _ in range(2):
        r = run_hdp(stack, "init", HDP_CLICKHOUSE_URL=url)
        assert r.returncode == 0, r.stderr
        outs.append([ln for ln in r.stdout.splitlines() if "ClickHouse" in ln])
    assert outs[0] == outs[1]
    assert outs[0][-1] == \
        f"init: ClickHouse http://hdp:***@127.0.0.1:{ch.http_port}/?database=hdp_init ready"
    assert any("applied sql/clickhouse/10_facts.sql" in ln for ln in outs[0]), outs[0]
    # four fact tables (live + staging for orders and lines) and the two *_current views
    assert ch.query("SELECT engine = 'View', count() FROM system.tables WHERE database = "
                    "'hdp_init' AND name LIKE 'fact_order%' GROUP BY engine = 'View' "
                    "ORDER BY 1").split() == ["0", "4", "1", "2"]
    assert ch.query("SELECT count() FROM system.databases WHERE name = 'hdp_init'").strip() == "1"


def test_init_without_clickhouse_configured(stack):
    r = run_hdp(stack, "init", HDP_CLICKHOUSE_URL="")
    assert r.returncode == 0, r.stderr
    assert "init: ClickHouse not configured: batch marts off" in r.stdout.splitlines()


def test_init_with_clickhouse_away_is_one_line(stack, ch):
    away = f"http://hdp:{urllib.parse.quote(PASSWORD, safe='')}@127.0.0.1:{free_port()}"
    r = run_hdp(stack, "init", HDP_CLICKHOUSE_URL=away)
    assert r.returncode == 1
    line = one_line(r)
    assert line.startswith("hdp init: ClickHouse at http://hdp:***@127.0.0.1:")
    assert "unreachable" in line
    r = run_hdp(stack, "init", HDP_CLICKHOUSE_URL=ch.url_for("hdp", "wrong"))
    assert r.returncode == 1 and "wrong credentials for user 'hdp'" in one_line(r)


def status(stack, **over):
    r = run_hdp(stack, "status", "--json", **over)
    return r.returncode, json.loads(r.stdout)["services"]["clickhouse"]


def test_status_up_down_and_not_configured(stack, ch):
    rc, s = status(stack)
    assert rc == 0 and s["ok"] and s["configured"], s
    assert s["version"] == ch.query("SELECT version()").strip()
    assert s["detail"] == (f"ClickHouse {s['version']} at "
                           f"http://hdp:***@127.0.0.1:{ch.http_port}/?database=hdp")
    text = run_hdp(stack, "status")
    assert text.returncode == 0
    assert [ln for ln in text.stdout.splitlines() if ln.startswith("clickhouse")] == \
        [f"clickhouse ok     {s['detail']}"]

    rc, s = status(stack, HDP_CLICKHOUSE_URL=ch.url.replace("database=hdp", "database=nodb"))
    assert rc == 1 and not s["ok"] and "database nodb does not exist (run hdp init)" in s["detail"]

    rc, s = status(stack, HDP_CLICKHOUSE_URL="")
    assert rc == 0 and s["ok"] and not s["configured"] and s["version"] is None
    text = run_hdp(stack, "status", HDP_CLICKHOUSE_URL="")
    assert [ln for ln in text.stdout.splitlines() if ln.startswith("clickhouse")] == \
        ["clickhouse off    not configured (HDP_CLICKHOUSE_URL is empty): batch marts off"]

    rc, s = status(stack, HDP_CLICKHOUSE_URL=ch.url_for("hdp", "nope"))
    assert rc == 1 and not s["ok"] and "wrong credentials for user 'hdp'" in s["detail"]

    ch.kill9()
    try:
        rc, s = status(stack)
        assert rc == 1 and not s["ok"] and s["version"] is None
        assert s["detail"].startswith(f"ClickHouse at http://hdp:***@127.0.0.1:{ch.http_port}")
        assert "unreachable" in s["detail"]
        text = run_hdp(stack, "status")
        assert any(ln.startswith("clickhouse DOWN") for ln in text.stdout.splitlines())
    finally:
        ch.restart()
    rc, s = status(stack)
    assert rc == 0 and s["ok"]


def test_config_masks_the_password(stack, ch):
    r = run_hdp(stack, "config")
    assert f"HDP_CLICKHOUSE_URL=http://hdp:***@127.0.0.1:{ch.http_port}/?database=hdp" \
        in r.stdout.splitlines()
