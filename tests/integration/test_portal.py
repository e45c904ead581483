"""The portal (GET /, web/index.html + app.js) and /docs (Swagger UI) in a real browser:
headless Chromium driven by Playwright, against a real stack (PostgreSQL source and dwh,
capture, speed, Redis, ClickHouse marts, serve) with generated orders.

Covered: Today's figures equal /api/v1/revenue and SQL ground truth on the source, and follow
new orders without a reload (Server-Sent Events); the customer view shows exactly the source's
orders of several customers and a clear message for an unknown one; the average check view
shows the API's values; Redis stopped -> a banner says so, Redis back -> it clears; /docs
renders Swagger UI; nothing is fetched from outside serve; the browser console stays free of
errors (Chromium logs every non-2xx load: only the 503s of the Redis outage and the 404 of the
unknown customer, which the test asks for, are allowed).
Screenshots at 1280 and 390 px go to build/test-artifacts/portal/."""
import os
import re
import time

import pytest
import requests

from services import start_redis, stop_redis
from stack import ROOT, TRUTH_BY_DAY, Stack, cents
from test_marts import quiesce

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = os.path.join(ROOT, "build", "test-artifacts", "portal")
SEG = 2  # test_marts.quiesce waits for 2 * its SEG: the same

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(tests/requirements.txt; make deps)")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM} (Debian package chromium; make deps)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("portal"), segment_seconds=SEG, clickhouse=True)
    try:
        s.start("capture", "capture")
        s.start("speed", "speed")
        s.start("serve", "serve")
        s.hdp("generate", "--orders", "3000", "--days", "3", "--seed", "51")
        s.hdp("generate", "--rate", "40", "--duration", "3", "--seed", "52")  # today, live
        quiesce(s)
        s.url = f"http://127.0.0.1:{s.http_port}"
        yield s
    finally:
        s.close()


class Console:
    """Errors the page reported: console messages of type error and uncaught exceptions."""

    def __init__(self, page):
        self.errors = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console: {m.text} ({m.location.get('url', '')})"))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def assert_clean(self, allow=None):
        """No error since the last call, but those matching the regex allow."""
        errors, self.errors = self.errors, []
        errors = [e for e in errors if not (allow and re.search(allow, e))]
        assert not errors, "\n".join(errors)


@pytest.fixture(scope="module")
def browser(stack):
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser, stack):
    """One page for the module, so the event stream lives across the tests like a user's tab.
    Every request it makes must go to serve: the portal works offline."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.console = Console(pg)
    pg.foreign = []
    pg.on("request", lambda r: r.url.startswith((stack.url + "/", "data:")) or pg.foreign.append(r.url))
    yield pg
    assert not pg.foreign, pg.foreign
    ctx.close()


def today():
    return time.strftime("%Y-%m-%d", time.gmtime())


def shown_cents(text):
    """'1,234.50' as the portal shows money -> 123450."""
    assert re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d{2}", text), text
    return cents(text.replace(",", ""))


def wait_text(page, selector, want, timeout_ms):
    """Waits until the text of selector equals want."""
    page.wait_for_function("([s, w]) => { const e = document.querySelector(s);"
                           " return e && e.textContent.trim() === w; }", arg=[selector, want],
                           timeout=timeout_ms)


def money_text(api_value):
    """The API's '1234.50' as the portal writes it: '1,234.50'."""
    neg = api_value.startswith("-")
    whole, frac = api_value.lstrip("-").split(".")
    return ("-" if neg else "") + f"{int(whole):,}.{frac}"


# ------------------------------------------------------------------ assets, without a browser


def test_assets_are_compiled_in_with_types_and_caching(stack):
    for name, ctype, cache in [("uPlot.iife.min.js", "text/javascript", "max-age"),
                               ("uPlot.min.css", "text/css", "max-age"),
                               ("swagger-ui-bundle.js", "text/javascript", "max-age"),
                               ("swagger-ui.css", "text/css", "max-age"),
                               ("app.js", "text/javascript", "no-cache"),
                               ("app.css", "text/css", "no-cache")]:
        r = requests.get(f"{stack.url}/assets/{name}", timeout=10)
        assert r.status_code == 200, name
        assert r.headers["Content-Type"].startswith(ctype), (name, r.headers)
        assert cache in r.headers["Cache-Control"], (name, r.headers)
        assert len(r.content) > 1000, name
    lib = os.path.join(ROOT, "node_modules", "uplot", "dist", "uPlot.iife.min.js")
    assert requests.get(f"{stack.url}/assets/uPlot.iife.min.js").content == open(lib, "rb").read()
    for bad in ["nope.js", "openapi.json", "index.html", ".hidden.js", "", "a/b.js",
                "..%2Fapp.js"]:
        r = requests.get(f"{stack.url}/assets/{bad}", timeout=10)
        assert r.status_code == 404, bad
        assert r.json()["error"]["code"] == "not_found", bad
    for path in ["/", "/docs"]:
        r = requests.get(stack.url + path, timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
        assert "cdn" not in r.text.lower() and "https://" not in r.text


# ------------------------------------------------------------------ Today


def test_today_equals_the_api_and_the_source(stack, page):
    truth = {d: (rev, o, r) for d, rev, o, r in stack.sql(TRUTH_BY_DAY)}[today()]
    st, api = stack.get("/api/v1/revenue")
    assert st == 200 and (cents(api["revenue"]), api["orders"], api["refunds"]) == truth, api
    page.goto(stack.url + "/#today")
    wait_text(page, "#net-revenue", money_text(api["revenue"]), 10000)
    assert shown_cents(page.text_content("#net-revenue")) == truth[0]
    assert page.text_content("#paid") == money_text(api["paid"])
    assert page.text_content("#refunded") == money_text(api["refunded"])
    assert page.text_content("#orders").replace(",", "") == str(truth[1])
    assert page.text_content("#refunds").replace(",", "") == str(truth[2])
    # W is published: the split in words names the batch layer and the live part
    page.wait_for_function("document.querySelector('#freshness').textContent.includes('batch')")
    text = page.text_content("#freshness")
    assert re.search(r"Figures up to \d\d:\d\d UTC come from the batch layer.*are live", text), text
    page.wait_for_selector("#chart-minute canvas")
    page.wait_for_selector("#chart-hour canvas")
    assert page.locator("#top-cities tbody tr").count() == 10
    assert page.locator("#top-categories tbody tr").count() >= 1
    assert page.is_hidden("#banner")
    page.console.assert_clean()


def test_today_follows_new_orders_without_reload(stack, page):
    page.goto(stack.url + "/#today")
    st, before = stack.get("/api/v1/revenue")
    wait_text(page, "#net-revenue", money_text(before["revenue"]), 10000)
    page.evaluate("window.__noReload = 1")
    stack.hdp("generate", "--rate", "20", "--duration", "2", "--seed", "53")
    stack.wait_caught_up()
    st, after = stack.get("/api/v1/revenue")
    assert after["orders"] > before["orders"], (before, after)
    # the speed layer has them: the page shows them within 2 s, by itself
    wait_text(page, "#net-revenue", money_text(after["revenue"]), 2000)
    wait_text(page, "#orders", f"{after['orders']:,}", 2000)
    assert page.evaluate("window.__noReload") == 1
    page.console.assert_clean()


# ------------------------------------------------------------------ Customer


def source_history(stack, cid):
    name, city = stack.sql("SELECT name, city FROM customers WHERE customer_id = %s", (cid,))[0]
    orders = stack.sql("SELECT o.order_id, o.status, o.total::text, count(i.line_no) FROM orders o "
                       "JOIN order_items i USING (order_id) WHERE o.customer_id = %s "
                       "GROUP BY 1, 2, 3 ORDER BY 1", (cid,))
    return name, city, orders


def test_customer_view_shows_exactly_the_sources_orders(stack, page):
    quiesce(stack)  # the vault holds every order placed so far
    picks = [r[0] for r in stack.sql("SELECT customer_id FROM orders GROUP BY 1 "
                                     "ORDER BY count(*) DESC, 1 LIMIT 3")]
    picks += [r[0] for r in stack.sql("SELECT min(customer_id) FROM orders "
                                      "WHERE status = 'refunded'") if r[0]]
    assert len(picks) >= 3
    for cid in picks:
        name, city, orders = source_history(stack, cid)
        page.goto(f"{stack.url}/#customer/{cid}")
        page.wait_for_selector("#customer-name")
        wait_text(page, "#customer-orders", str(len(orders)), 10000)
        assert page.text_content("#customer-name") == f"{name} · #{cid}"
        assert page.text_content("#customer-city") == city
        shown = page.eval_on_selector_all(
            "article.order", "els => els.map(e => [Number(e.dataset.orderId),"
            " e.querySelector('.status').textContent, e.querySelector('.order-total').textContent,"
            " e.querySelectorAll('table.lines tbody tr').length,"
            " e.querySelectorAll('ol.history li').length])")
        assert [s[:4] for s in shown] == [
            [oid, status, money_text(total) + " USD", nlines] for oid, status, total, nlines in orders]
        assert all(s[4] >= 1 for s in shown)  # every order has its status history
        paid = sum(cents(t) for _, _, t, _ in orders)
        assert shown_cents(page.text_content("#customer-paid").split(" ")[0]) == paid
    page.goto(f"{stack.url}/#customer/999999999")
    page.wait_for_selector("#customer-missing")
    assert page.text_content("#customer-missing") == "No customer 999999999."
    # Chromium logs every non-2xx load; this 404 is the answer the page asked for
    page.console.assert_clean(allow=r"status of 404 .*/api/v1/users/999999999/history")


# ------------------------------------------------------------------ Average check


def test_average_check_view_shows_the_apis_values(stack, page):
    d_from = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400))
    st, api = stack.get(f"/api/v1/cities/average-check?from={d_from}&to={today()}")
    assert st == 200 and len(api["cities"]) > 10
    page.goto(f"{stack.url}/#average-check?from={d_from}&to={today()}")
    page.wait_for_function("n => document.querySelectorAll('#avg-table tbody tr').length === n",
                           arg=len(api["cities"]), timeout=10000)
    rows = page.eval_on_selector_all("#avg-table tbody tr", "rs => rs.map(r =>"
                                     " [...r.cells].map(c => c.textContent))")
    assert rows == [[c["city"], money_text(c["average_check"]), f"{c['orders']:,}",
                     money_text(c["paid"])] for c in api["cities"]]
    assert page.locator("#avg-chart .hbar").count() >= 10
    assert page.input_value("#avg-from") == d_from
    page.console.assert_clean()


# ------------------------------------------------------------------ screenshots, widths


@pytest.mark.parametrize("width", [1280, 390])
def test_views_fit_and_screenshots(stack, page, width):
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    cid = stack.sql("SELECT customer_id FROM orders GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0][0]
    for view, hash_, ready in [("today", "#today", "#chart-hour canvas"),
                               ("average-check", "#average-check", "#avg-table tbody tr"),
                               ("customer", f"#customer/{cid}", "article.order"),
                               ("pipeline", "#pipeline", "#pipe-runs article.run")]:
        page.goto(f"{stack.url}/{hash_}")
        page.wait_for_selector(ready)
        page.wait_for_timeout(300)  # let the charts take their width
        page.screenshot(path=os.path.join(ARTIFACTS, f"{view}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{view} at {width}px is {overflow}px wide"
    page.set_viewport_size({"width": 1280, "height": 900})
    page.console.assert_clean()


def test_pipeline_view_shows_runs_slots_and_quarantine(stack, page):
    page.goto(stack.url + "/#pipeline")
    page.wait_for_selector("#pipe-runs article.run")
    st, runs = stack.get("/api/v1/pipeline/runs?limit=10")
    newest = runs["runs"][0]
    assert f"Run {newest['id']} · {newest['dag']}" in page.text_content("#pipe-runs")
    tasks = page.eval_on_selector_all("#pipe-runs article.run:first-child tbody tr td:first-child",
                                      "tds => tds.map(t => t.textContent)")
    assert tasks == [t["task"] for t in newest["tasks"]]
    slots = page.eval_on_selector_all("#pipe-slots tbody tr td:first-child",
                                      "tds => tds.map(t => t.textContent)")
    assert sorted(slots) == ["hdp_lake", "hdp_speed"]
    assert page.locator("#pipe-quarantine tbody tr").count() == 3
    assert "Watermark W = segment" in page.text_content("#pipe-watermark")
    page.console.assert_clean()


# ------------------------------------------------------------------ degraded


def test_banner_on_redis_outage_and_clears_after(stack, page):
    page.goto(stack.url + "/#today")
    page.wait_for_selector("#chart-hour canvas")
    assert page.is_hidden("#banner")
    page.console.assert_clean()
    stop_redis(stack.redis)
    try:
        page.wait_for_selector("#banner", state="visible", timeout=10000)
        page.wait_for_function("document.querySelector('#banner').textContent.includes('Redis')",
                               timeout=10000)
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, "today-redis-down-1280.png"))
        assert page.text_content("#net-revenue").strip() not in ("", "…")  # never blank
    finally:
        stack.redis, _ = start_redis(stack.tmp, port=stack.redis_port, persistent=True)
    page.wait_for_selector("#banner", state="hidden", timeout=15000)
    st, api = stack.get("/api/v1/revenue")
    assert st == 200
    wait_text(page, "#net-revenue", money_text(api["revenue"]), 5000)
    # the outage's own failed loads (503 answers, the stream's reconnects) are logged by the
    # browser as errors; nothing else may be
    page.console.assert_clean(allow=r"Failed to load resource: the server responded with a "
                                    r"status of 503|/api/v1/stream")


def test_banner_on_clickhouse_outage_and_clears_after(stack, page):
    """ClickHouse away: serve answers degraded (speed layer only where it still holds the
    days) or 503; either way the banner names ClickHouse and the figures stay on screen."""
    page.goto(stack.url + "/#today")
    page.wait_for_selector("#chart-hour canvas")
    assert page.is_hidden("#banner")
    page.console.assert_clean()
    stack.ch.kill9()
    try:
        page.wait_for_selector("#banner", state="visible", timeout=10000)
        page.wait_for_function("/ClickHouse|batch/i.test(document.querySelector('#banner')"
                               ".textContent)", timeout=10000)
        st, api = stack.get("/api/v1/revenue")
        # a batch part serve holds already is still exact without ClickHouse; a degraded
        # answer (the speed layer alone) must say so on the page
        if st == 200 and api.get("degraded"):
            page.wait_for_function("document.body.textContent.includes('from the speed layer "
                                   "alone')", timeout=5000)
        page.screenshot(path=os.path.join(ARTIFACTS, "today-clickhouse-down-1280.png"))
        assert page.text_content("#net-revenue").strip() not in ("", "…")
    finally:
        stack.ch.start()
    page.wait_for_selector("#banner", state="hidden", timeout=20000)
    st, api = stack.get("/api/v1/revenue")
    assert st == 200 and not api.get("degraded"), api
    wait_text(page, "#net-revenue", money_text(api["revenue"]), 5000)
    page.console.assert_clean(allow=r"Failed to load resource: the server responded with a "
                                    r"status of 503|/api/v1/stream")


# ------------------------------------------------------------------ /docs


def test_docs_is_swagger_ui_of_the_document(stack, page):
    page.goto(stack.url + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", state="visible", timeout=20000)
    paths = page.eval_on_selector_all(".opblock-summary-path", "es => es.map(e => e.textContent)")
    doc = requests.get(stack.url + "/openapi.json", timeout=10).json()
    assert "/api/v1/revenue" in [p.replace("\u200b", "") for p in paths]
    assert len(paths) == sum(len(v) for v in doc["paths"].values())
    page.click("#operations-default-get_api_v1_revenue .opblock-summary")
    page.wait_for_selector("#operations-default-get_api_v1_revenue.is-open .parameters")
    assert page.is_visible("#operations-default-get_api_v1_revenue.is-open >> text=date")
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "docs-1280.png"))
    page.console.assert_clean()
