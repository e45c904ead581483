"""/openapi.json (web/openapi.json, compiled in) against the server that serves it: every
route the server routes (src/serve/query.c's tables) is documented, every documented
operation answers with a status its document lists, and the document is valid OpenAPI 3
(openapi-spec-validator). With a token the bearer scheme is declared; without one it is not."""
import os
import re

import pytest
import redis
import requests
from openapi_spec_validator import validate

from services import start_redis, stop_process, stop_redis
from test_serve import D, ROOT, seed, start_serve

TOKEN = "doc-t0ken"


def routed_paths():
    """The paths query.c routes: exact ones, the {id} ones and the assets prefix's {name}."""
    src = open(os.path.join(ROOT, "src", "serve", "query.c")).read()
    exact = re.findall(r'\{"(/[^"]*)", "[a-z_]+", EP_[A-Z_]+\}', src)
    ids = re.findall(r'\{"(/[^"]*/)", EP_[A-Z_]+\}', src)
    assets = re.findall(r'assets_prefix\[\] = "(/[^"]*/)"', src)
    assert exact and ids and assets, "query.c's route tables changed shape: update this test"
    return set(exact) | {p + "{id}/history" for p in ids} | {assets[0] + "{name}"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("openapi")
    rproc, rport = start_redis(tmp)
    seed(redis.Redis(port=rport, decode_responses=True))
    with_token, url_t = start_serve(tmp, rport, HDP_API_TOKEN=TOKEN)
    open_, url_o = start_serve(tmp, rport)
    yield url_t, url_o
    stop_process(with_token)
    stop_process(open_)
    stop_redis(rproc)


def test_document_is_valid_openapi(servers):
    url_t, url_o = servers
    for url in servers:
        validate(requests.get(url + "/openapi.json", timeout=5).json())
    with_auth = requests.get(url_t + "/openapi.json", timeout=5).json()
    without = requests.get(url_o + "/openapi.json", timeout=5).json()
    assert "bearer" in with_auth["components"]["securitySchemes"]
    assert "securitySchemes" not in without["components"]
    assert "401" not in without["paths"]["/api/v1/revenue"]["get"]["responses"]
    # triggering runs needs a token even where everything else is open
    assert "403" in without["paths"]["/api/v1/pipeline/runs"]["post"]["responses"]


def test_every_route_documented_and_every_documented_route_answers(servers):
    url_t, _ = servers
    doc = requests.get(url_t + "/openapi.json", timeout=5).json()
    assert routed_paths() == set(doc["paths"]), \
        f"routed, undocumented: {routed_paths() - set(doc['paths'])}; " \
        f"documented, not routed: {set(doc['paths']) - routed_paths()}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path, item in doc["paths"].items():
        concrete = path.replace("{id}", "42").replace("{name}", "app.js")
        for method, op in item.items():
            if path == "/api/v1/stream":  # an endless body: the headers are the answer
                with requests.get(url_t + concrete, headers=auth, stream=True, timeout=5) as r:
                    assert r.status_code == 200
                    assert r.headers["Content-Type"].startswith("text/event-stream")
                continue
            res = requests.request(method.upper(), url_t + concrete, headers=auth, timeout=10)
            assert str(res.status_code) in op["responses"], \
                f"{method.upper()} {path}: {res.status_code} not documented ({res.text[:200]})"
            assert res.status_code != 404 or path.endswith("/history"), (path, res.text)
            if op.get("security"):
                res = requests.request(method.upper(), url_t + concrete, timeout=10)
                assert res.status_code == 401, (method, path, res.status_code)


def test_revenue_answer_matches_its_schema(servers):
    """The documented required members are in a real answer, for every revenue endpoint."""
    url_t, _ = servers
    doc = requests.get(url_t + "/openapi.json", timeout=5).json()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("/api/v1/revenue", "/api/v1/revenue/by-city", "/api/v1/revenue/by-category",
                 "/api/v1/revenue/timeseries", "/api/v1/cities/average-check"):
        schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"]
        body = requests.get(f"{url_t}{path}?date={D}", headers=auth, timeout=5).json()
        missing = set(schema["required"]) - set(body)
        assert not missing, (path, missing)
        assert set(body) <= set(schema["properties"]), (path, set(body) - set(schema["properties"]))
