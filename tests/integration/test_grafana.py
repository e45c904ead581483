"""Grafana's provisioning (deploy/grafana/provisioning), checked without a Grafana: the data
sources and the dashboard provider parse and reference each other and the compose file; no
secret is written in them; and every panel's SQL, with the ClickHouse plugin's macros and the
dashboard variable expanded the way Grafana and grafana-clickhouse-datasource 4.x expand them
for a fixed time range, runs on the test ClickHouse (18.16) and the test dwh. After a
quiescent batch run the numbers equal SQL ground truth on the source, to the cent: average
check by city (rounded half away from zero), revenue by day, city and category, orders per
minute. Facts above the published watermark W are left out until W moves."""
import calendar
import json
import os
import re
import subprocess
import time
from decimal import Decimal

import psycopg2
import pytest
import redis as redislib
import yaml

from stack import ROOT, Stack

PROV = os.path.join(ROOT, "deploy", "grafana", "provisioning")
DASHBOARD = os.path.join(PROV, "dashboards", "hdp.json")
COMPOSE = os.path.join(ROOT, "deploy", "docker-compose.yml")
ROLE_SQL = os.path.join(ROOT, "deploy", "postgres", "grafana-role.sql")
SEG = 2
CH_TYPE = "grafana-clickhouse-datasource"
PG_TYPES = {"postgres", "grafana-postgresql-datasource"}


def load_yaml_dir(folder):
    docs = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith((".yml", ".yaml")):
            with open(os.path.join(folder, name)) as f:
                docs[name] = yaml.safe_load(f)
    return docs


def datasources():
    out = {}
    for name, doc in load_yaml_dir(os.path.join(PROV, "datasources")).items():
        assert doc["apiVersion"] == 1, name
        for ds in doc["datasources"]:
            assert ds["uid"] not in out, f"uid {ds['uid']} twice"
            out[ds["uid"]] = ds
    return out


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def compose():
    with open(COMPOSE) as f:
        return yaml.safe_load(f)


def panels():
    return {p["title"]: p for p in dashboard()["panels"]}


# ------------------------------------------------------------------ static checks


def test_datasources_are_the_plugin_and_dwh_with_passwords_from_the_environment():
    ds = datasources()
    services = compose()["services"]
    grafana_env = services["grafana"]["environment"]
    ch = [d for d in ds.values() if d["type"] == CH_TYPE]
    pg = [d for d in ds.values() if d["type"] in PG_TYPES]
    assert len(ch) == 1 and len(pg) == 1, ds
    ch, pg = ch[0], pg[0]
    j = ch["jsonData"]
    assert j["protocol"] == "http" and j["port"] == 8123 and j["defaultDatabase"] == "hdp"
    assert j["host"] in services and services[j["host"]]["image"].startswith("clickhouse/")
    assert j["username"] == "grafana"
    host, port = pg["url"].split(":")
    assert host in services and services[host]["image"].startswith("postgres:") and port == "5432"
    assert pg["jsonData"]["database"] == "dwh" and pg["user"] == "grafana"
    for d in (ch, pg):
        assert set(d) & {"password", "basicAuthPassword"} == set(), "a password outside secureJsonData"
        for key, value in d["secureJsonData"].items():
            m = re.fullmatch(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", str(value))
            assert m, f"{d['uid']}.secureJsonData.{key} is written in the file"
            assert m.group(1) in grafana_env, f"grafana's container lacks {m.group(1)}"
    # the ClickHouse user and password the data source names exist in ClickHouse's users file
    users = open(os.path.join(ROOT, "deploy", "clickhouse", "users.d", "hdp.xml")).read()
    var = re.fullmatch(r"\$\{?(\w+)\}?", ch["secureJsonData"]["password"]).group(1)
    assert re.search(rf"<grafana>\s*<password from_env=\"{var}\"/>", users)
    assert var in services["clickhouse"]["environment"]


def test_dashboard_provider_path_is_where_compose_mounts_the_dashboard():
    provs = load_yaml_dir(os.path.join(PROV, "dashboards"))
    providers = [p for doc in provs.values() for p in doc["providers"]]
    assert len(providers) == 1
    path = providers[0]["options"]["path"]
    mounts = {}
    for v in compose()["services"]["grafana"]["volumes"]:
        src, dst = v.split(":")[:2]
        if src.startswith("."):
            mounts[dst] = os.path.normpath(os.path.join(ROOT, "deploy", src))
    host = next((h + path[len(c):] for c, h in mounts.items() if path.startswith(c)), None)
    assert host, f"provider path {path} is not inside a mount of {mounts}"
    assert os.path.samefile(host, os.path.dirname(DASHBOARD))
    env = compose()["services"]["grafana"]["environment"]
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == path.rstrip("/") + "/" + os.path.basename(DASHBOARD)


def test_every_panel_uses_a_provisioned_datasource_and_known_variables():
    ds = datasources()
    d = dashboard()
    assert d["uid"] and d["timezone"] == "utc"
    assert "segment <= w" in d["description"].lower().replace("$watermark", "w")
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    want = {"Average check by city", "Revenue by day", "Revenue by city", "Revenue by category",
            "Orders per minute", "Batch watermark age"}
    assert want <= set(panels()), want - set(panels())
    variables = {v["name"] for v in d["templating"]["list"]}
    for v in d["templating"]["list"]:
        assert v["datasource"]["uid"] in ds
    for p in d["panels"]:
        refs = [p["datasource"]] + [t["datasource"] for t in p["targets"]]
        for r in refs:
            assert r["uid"] in ds, f"{p['title']}: unknown datasource {r['uid']}"
            assert (r["type"] == ds[r["uid"]]["type"]), f"{p['title']}: type of {r['uid']}"
        for t in p["targets"]:
            sql = t["rawSql"]
            for name in re.findall(r"\$\{?(\w+)", sql):
                assert name.startswith("__") or name in variables, f"{p['title']}: ${name}"
            if t["datasource"]["type"] == CH_TYPE:
                assert t["editorType"] == "sql" and t["queryType"] in ("table", "timeseries")
                assert t["format"] == (0 if t["queryType"] == "timeseries" else 1)
                assert int(t["pluginVersion"].split(".")[0]) == 4
                assert "$__timeFilter(event_time)" in sql and "segment <= $watermark" in sql


def walk(node, path=""):
    """(dotted key, value) of every scalar of a parsed YAML or JSON document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, node


def test_no_secret_in_the_provisioning_files():
    secretish = re.compile(r"(password|secret|token|apikey|api_key|credential)[^.]*$", re.I)
    seen = 0
    for root, _, files in os.walk(PROV):
        for name in files:
            with open(os.path.join(root, name)) as f:
                doc = json.load(f) if name.endswith(".json") else yaml.safe_load(f)
            for key, value in walk(doc):
                if secretish.search(key):
                    seen += 1
                    assert re.fullmatch(r"\$\{?[A-Z_][A-Z0-9_]*\}?", str(value)), \
                        f"{name}: {key} = {value!r}"
                if isinstance(value, str):  # no credentials inside a URL or DSN either
                    assert not re.search(r"://[^/\s:@]+:[^@\s]+@|password=", value), (name, key)
    assert seen == 2  # the two data sources' secureJsonData.password


# ------------------------------------------------------------------ macros, as the plugin


def expand(sql, frm, to, interval_s=60, variables=None):
    """Grafana first replaces dashboard variables, then grafana-clickhouse-datasource (4.x,
    pkg/macros) its macros: $__timeFilter(c) -> c >= toDateTime(from) AND c <= toDateTime(to)
    (unix seconds), $__fromTime / $__toTime -> toDateTime(s), $__interval_s -> seconds,
    $__dateFilter(c) -> c >= toDate('YYYY-MM-DD') AND c <= toDate(...) (UTC days)."""
    for name, value in (variables or {}).items():
        sql = sql.replace("${" + name + "}", str(value)).replace("$" + name, str(value))
    day = lambda t: time.strftime("%Y-%m-%d", time.gmtime(t))  # noqa: E731
    sql = re.sub(r"\$__timeFilter\(\s*([^)]+?)\s*\)",
                 lambda m: f"{m[1]} >= toDateTime({frm}) AND {m[1]} <= toDateTime({to})", sql)
    sql = re.sub(r"\$__dateFilter\(\s*([^)]+?)\s*\)",
                 lambda m: f"{m[1]} >= toDate('{day(frm)}') AND {m[1]} <= toDate('{day(to)}')",
                 sql)
    sql = sql.replace("$__fromTime", f"toDateTime({frm})").replace("$__toTime",
                                                                   f"toDateTime({to})")
    sql = sql.replace("$__interval_s", str(max(int(interval_s), 1)))
    assert "$" not in sql, f"a macro or variable this test does not know: {sql}"
    return sql


TSV_ESC = {"b": "\b", "f": "\f", "r": "\r", "n": "\n", "t": "\t", "0": "\0", "'": "'",
           "\\": "\\"}


def tsv_field(text):
    return re.sub(r"\\(.)", lambda m: TSV_ESC.get(m[1], "\\" + m[1]), text)


def ch_rows(stack, sql):
    """[(dict of name -> text)], [(name, type)] of a query's answer."""
    out = stack.ch.query(sql + "\nFORMAT TabSeparatedWithNamesAndTypes")
    lines = out.split("\n")[:-1]
    names, types = lines[0].split("\t"), lines[1].split("\t")
    rows = [dict(zip(names, map(tsv_field, ln.split("\t")))) for ln in lines[2:]]
    return rows, list(zip(names, types))


def cents(text):
    v = Decimal(text) * 100
    assert v == v.to_integral_value(), text
    return int(v)


def round_half_away(paid, n):
    q, r = divmod(abs(paid), n)
    q += 1 if 2 * r >= n else 0
    return q if paid >= 0 else -q


# ------------------------------------------------------------------ ground truth on the source

RANGE = "paid_at >= to_timestamp(%(f)s) AND paid_at < to_timestamp(%(t)s + 1)"
EV = """
WITH ev AS (
  SELECT paid_at AS t, total AS amt, 1 AS o, ship_city FROM orders WHERE paid_at IS NOT NULL
  UNION ALL
  SELECT refunded_at, -total, 0, ship_city FROM orders WHERE refunded_at IS NOT NULL)
"""


def truth(stack, frm, to):
    a = {"f": frm, "t": to}
    rng = RANGE.replace("paid_at", "t")
    avg = {c: round_half_away(paid, n) for c, paid, n in stack.sql(
        "SELECT ship_city, (sum(total) * 100)::bigint, count(*) FROM orders WHERE "
        + RANGE + " GROUP BY 1", a)}
    by_day = {d: rev for d, rev in stack.sql(
        EV + "SELECT t::date::text, (sum(amt) * 100)::bigint FROM ev WHERE " + rng
        + " GROUP BY 1", a)}
    by_city = {c: (rev, o) for c, rev, o in stack.sql(
        EV + "SELECT ship_city, (sum(amt) * 100)::bigint, sum(o) FROM ev WHERE " + rng
        + " GROUP BY 1", a)}
    by_cat = {c: (rev, n) for c, rev, n in stack.sql("""
        WITH lines AS (SELECT oi.order_id, p.category, sum(oi.quantity * oi.unit_price) AS amt
                       FROM order_items oi JOIN products p USING (product_id) GROUP BY 1, 2),
        ev AS (SELECT o.paid_at AS t, l.category, l.amt, 1 AS n FROM orders o
               JOIN lines l USING (order_id) WHERE o.paid_at IS NOT NULL
          UNION ALL SELECT o.refunded_at, l.category, -l.amt, 0 FROM orders o
               JOIN lines l USING (order_id) WHERE o.refunded_at IS NOT NULL)
        SELECT category, (sum(amt) * 100)::bigint, sum(n) FROM ev WHERE """ + rng
                                                     + " GROUP BY 1", a)}
    per_min = {int(m): n for m, n in stack.sql(
        "SELECT extract(epoch FROM date_trunc('minute', paid_at))::bigint, count(*) FROM orders "
        "WHERE " + RANGE + " GROUP BY 1", a)}
    return {"avg": avg, "day": by_day, "city": by_city, "cat": by_cat, "min": per_min}


# ------------------------------------------------------------------ the live part


def watermark(stack):
    v = redislib.Redis(port=stack.redis_port).get("hdp:batch:watermark")
    return int(v) if v is not None else None


def quiesce(stack):
    """Capture holds everything, the last segment is closed, and a batch run published it."""
    stack.wait_caught_up(slot="hdp_lake", timeout=180)
    time.sleep(2 * SEG + 1)
    stack.wait_caught_up(slot="hdp_lake", timeout=180)
    closed = json.loads(open(f"{stack.tmp}/lake/_state/capture.json").read())["segment"]
    for _ in range(30):
        stack.hdp("run", "batch")
        if (watermark(stack) or -1) >= closed:
            return
        time.sleep(0.5)
    raise AssertionError(f"W {watermark(stack)} never reached closed segment {closed}")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("grafana"), segment_seconds=SEG, clickhouse=True)
    try:
        assert watermark(s) is None
        s.start("capture", "capture")
        s.hdp("generate", "--orders", "3000", "--days", "3", "--seed", "1")
        # refunds (negative revenue) an hour after payment, some of them on another day
        s.sql("UPDATE orders SET status = 'refunded', refunded_at = paid_at + interval '1 hour',"
              " updated_at = now() WHERE order_id IN (SELECT order_id FROM orders WHERE"
              " paid_at < now() - interval '2 hours' ORDER BY order_id % 37, order_id LIMIT 90)")
        quiesce(s)
        yield s
    finally:
        s.close()


def dwh_one(stack, sql, user="hdp"):
    with psycopg2.connect(stack.pg.dsn("dwh").replace("user=hdp", f"user={user}")) as c, \
            c.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def variables(stack):
    """The dashboard's variables as Grafana computes them: each one's query on its source."""
    out = {}
    for v in dashboard()["templating"]["list"]:
        assert v["datasource"]["uid"] == "hdp-dwh"
        out[v["name"]] = dwh_one(stack, v["query"])[0][0]
    return out


def run_panel(stack, title, frm, to, interval_s=60):
    p = panels()[title]
    (t,) = p["targets"]
    sql = expand(t["rawSql"], frm, to, interval_s, variables(stack))
    rows, cols = ch_rows(stack, sql)
    if t["queryType"] == "timeseries":  # the plugin wants a DateTime column named time
        assert cols[0][0] == "time" and cols[0][1].startswith("DateTime"), cols
    else:
        x = p["options"]["xField"]
        assert dict(cols)[x] == "String", cols
    return rows


def panel_numbers(stack, frm, to, interval_s=60):
    avg = {r["city"]: cents(r["average_check"]) for r in
           run_panel(stack, "Average check by city", frm, to)}
    by_day = {r["time"][:10]: cents(r["revenue"]) for r in
              run_panel(stack, "Revenue by day", frm, to)}
    by_city = {r["city"]: (cents(r["revenue"]), int(r["orders"])) for r in
               run_panel(stack, "Revenue by city", frm, to)}
    by_cat = {r["category"]: (cents(r["revenue"]), int(r["orders"])) for r in
              run_panel(stack, "Revenue by category", frm, to)}
    per_min = {}
    for r in run_panel(stack, "Orders per minute", frm, to, interval_s):
        ts = calendar.timegm(time.strptime(r["time"], "%Y-%m-%d %H:%M:%S"))
        per_min[ts] = Decimal(r["orders_per_minute"])
    return {"avg": avg, "day": by_day, "city": by_city, "cat": by_cat, "min": per_min}


def day_range(stack):
    lo, hi = stack.sql("SELECT extract(epoch FROM date_trunc('day', min(paid_at)))::bigint,"
                       " extract(epoch FROM date_trunc('day', max(paid_at)))::bigint"
                       " FROM orders")[0]
    return int(lo), int(hi) + 86400 - 1  # Grafana's "to" of a whole day: 23:59:59(.999)


def assert_panels_equal_truth(stack, frm, to):
    got, want = panel_numbers(stack, frm, to), truth(stack, frm, to)
    assert want["avg"] and want["cat"] and want["min"]
    for k in ("avg", "day", "city", "cat"):
        drop0 = {c: v for c, v in want[k].items() if v not in (0, (0, 0))}
        gotk = {c: v for c, v in got[k].items() if v not in (0, (0, 0))}
        assert gotk == drop0, (k, {c: (gotk.get(c), drop0.get(c)) for c in set(gotk) | set(drop0)
                                   if gotk.get(c) != drop0.get(c)})
    assert {m: int(v) for m, v in got["min"].items() if v} == want["min"]
    return got, want


def test_panels_equal_ground_truth_over_whole_days(live):
    frm, to = day_range(live)
    got, want = assert_panels_equal_truth(live, frm, to)
    assert len(want["day"]) >= 3 and len(want["avg"]) > 5
    refunded = live.sql("SELECT count(*) FROM orders WHERE refunded_at IS NOT NULL")[0][0]
    assert refunded >= 50  # negative amounts took part
    # the average check really is rounded: some city's average has a fraction of a cent
    fr = live.sql("SELECT count(*) FROM (SELECT ship_city FROM orders GROUP BY 1"
                  " HAVING (sum(total) * 100) % count(*) <> 0) x")[0][0]
    assert fr > 0


def test_panels_equal_ground_truth_over_a_range_inside_days(live):
    """A range that starts and ends mid-day, at second resolution, inclusive at both ends
    (what $__timeFilter does)."""
    frm, to = day_range(live)
    frm, to = frm + 13 * 3600 + 17 * 60 + 5, to - 86400 - 5 * 3600 + 41
    assert_panels_equal_truth(live, frm, to)
    # the edge: an order paid at exactly `to` (.5 s later still counts, DateTime is seconds)
    oid = live.sql("SELECT order_id FROM orders WHERE refunded_at IS NULL ORDER BY order_id"
                   " LIMIT 1")[0][0]
    live.sql("UPDATE orders SET paid_at = to_timestamp(%s + 0.5), updated_at = now()"
             " WHERE order_id = %s", (to, oid))
    quiesce(live)
    got, want = assert_panels_equal_truth(live, frm, to)
    assert want["min"][to - to % 60] >= 1


def test_orders_per_minute_buckets_follow_the_interval(live):
    frm, to = day_range(live)
    per_min = truth(live, frm, to)["min"]
    got = panel_numbers(live, frm, to, interval_s=330)["min"]  # buckets of 5 minutes
    want = {}
    for m, n in per_min.items():
        want[m - m % 300] = want.get(m - m % 300, 0) + n
    assert {t: v * 5 for t, v in got.items() if v} == want


def test_watermark_panel_and_variable_read_dwh_as_the_grafana_role(live):
    env = dict(os.environ, GRAFANA_DWH_PASSWORD="not-a-real-one-" + str(os.getpid()))
    psql = os.path.join(live.pg.bindir, "psql")
    for _ in range(2):  # idempotent
        out = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", live.pg.dsn("dwh"),
                              "-f", ROLE_SQL], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert env["GRAFANA_DWH_PASSWORD"] not in out.stdout + out.stderr
    no_pw = {k: v for k, v in env.items() if k != "GRAFANA_DWH_PASSWORD"}
    out = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", live.pg.dsn("dwh"),
                          "-f", ROLE_SQL], env=no_pw, capture_output=True, text=True)
    assert out.returncode != 0 and "GRAFANA_DWH_PASSWORD is not set" in out.stderr
    (t,) = panels()["Batch watermark age"]["targets"]
    rows = dwh_one(live, t["rawSql"], user="grafana")
    assert len(rows) == 1
    age, w, published = rows[0]
    assert w == watermark(live) and 0 <= age < 600
    var = dashboard()["templating"]["list"][0]["query"]
    assert dwh_one(live, var, user="grafana") == [(w,)]
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        dwh_one(live, "SELECT count(*) FROM vault.hub_order", user="grafana")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        dwh_one(live, "SELECT count(*) FROM ops.quarantine", user="grafana")
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
        dwh_one(live, "CREATE TEMP TABLE x (i int)", user="grafana")


def test_facts_above_the_watermark_are_left_out_until_it_moves(live):
    frm, _ = day_range(live)
    to = int(time.time()) + 3600
    before = truth(live, frm, to)
    w = watermark(live)
    live.hdp("generate", "--rate", "40", "--duration", "3", "--seed", "7")
    live.wait_caught_up(slot="hdp_lake")
    time.sleep(2 * SEG + 1)
    live.wait_caught_up(slot="hdp_lake")
    for task in ("compact", "vault", "marts"):  # publish never runs
        live.hdp("run", task)
    assert watermark(live) == w
    above = live.ch.query(f"SELECT count() FROM hdp.fact_order WHERE segment > {w}").strip()
    assert int(above) > 0, "marts wrote nothing above W: the test would prove nothing"
    got = panel_numbers(live, frm, to)
    assert got["avg"] == {c: v for c, v in before["avg"].items()}
    assert {c: v for c, v in got["city"].items() if v != (0, 0)} == \
        {c: v for c, v in before["city"].items() if v != (0, 0)}
    quiesce(live)
    assert watermark(live) > w
    after, _ = assert_panels_equal_truth(live, frm, to)
    assert after["city"] != got["city"]
