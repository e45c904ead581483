"""deploy/docker-compose.yml, deploy/.env.example and deploy/Dockerfile, checked without a
Docker engine: the services the deployment needs exist; hdp services run subcommands that
exist and get only variables hdp knows; depends_on is a DAG with `hdp init` (one-shot, must
succeed) before every hdp part; every long-running service has a healthcheck, and the hdp
healthchecks are run for real against a local stack (they pass with the part running and
fail without it); named volumes are declared; every ${VAR} is documented in .env.example; no
secret is written in the file; host ports are distinct; the image installs the -dev package
of every library the Makefile links and the runtime package of every library build/hdp
needs (resolved with pkg-config, readelf and dpkg on this Debian 12, the image's base)."""
import os
import re
import shlex
import subprocess
import time

import pytest
import yaml

from stack import HDP, ROOT, Stack

DEPLOY = os.path.join(ROOT, "deploy")
COMPOSE = os.path.join(DEPLOY, "docker-compose.yml")
ENV_EXAMPLE = os.path.join(DEPLOY, ".env.example")
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")

REQUIRED = {"postgres", "redis", "clickhouse", "minio", "init", "capture", "speed", "scheduler",
            "serve", "grafana"}
HDP_PARTS = {"capture", "speed", "scheduler", "serve"}
VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRETISH = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY)$")


@pytest.fixture(scope="module")
def compose():
    with open(COMPOSE) as f:
        return yaml.safe_load(f)


def env_example():
    """{NAME: value} of the uncommented NAME=value lines."""
    out = {}
    with open(ENV_EXAMPLE) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", name), f"bad line: {line!r}"
            out[name] = value
    return out


def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def is_hdp(svc):
    return svc.get("image", "").startswith("hdp:") or "build" in svc


def long_running(svc):
    return str(svc.get("restart", "no")) != "no"


def hdp_config_variables():
    out = subprocess.run([HDP, "config", "--markdown"], capture_output=True, text=True,
                         env={"PATH": os.environ["PATH"], "HDP_ENV_FILE": os.devnull})
    assert out.returncode == 0, out.stderr
    names = set(re.findall(r"^\| `([A-Z_][A-Z0-9_]*)` \|", out.stdout, re.M))
    assert "HDP_SOURCE_DSN" in names and len(names) > 10, out.stdout
    return names


# ------------------------------------------------------------------ services and commands


def test_every_service_the_deployment_needs_exists(compose):
    services = compose["services"]
    assert REQUIRED <= set(services), REQUIRED - set(services)
    assert all(is_hdp(services[s]) for s in HDP_PARTS | {"init"})
    assert "wal_level=logical" in services["postgres"]["command"]
    cmd = services["redis"]["command"]
    assert cmd[cmd.index("--appendonly") + 1] == "yes"
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    assert services["grafana"]["image"].startswith("grafana/grafana:")
    plugins = env_of(services["grafana"])["GF_INSTALL_PLUGINS"]
    assert re.fullmatch(r"grafana-clickhouse-datasource 4\.\d+\.\d+", plugins), plugins


def test_hdp_services_run_subcommands_that_exist(compose):
    seen = set()
    for name, svc in compose["services"].items():
        if not is_hdp(svc):
            continue
        cmd = svc["command"]
        assert isinstance(cmd, list) and cmd, name
        out = subprocess.run([HDP, cmd[0], "--help"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, f"{name}: hdp {cmd[0]} --help exited {out.returncode}"
        seen.add(cmd[0])
    assert {"init", "capture", "speed", "scheduler", "serve"} <= seen


def test_hdp_services_get_only_variables_hdp_knows(compose):
    known = hdp_config_variables()
    for name, svc in compose["services"].items():
        if is_hdp(svc):
            unknown = set(env_of(svc)) - known
            assert not unknown, f"{name}: {unknown} are not hdp variables"
            assert "env_file" not in svc, f"{name}: env_file would hand hdp every .env variable"
    serve = env_of(compose["services"]["serve"])
    assert serve["HDP_HTTP_ADDR"].startswith("0.0.0.0:")
    for svc in HDP_PARTS | {"init"}:
        env = env_of(compose["services"][svc])
        assert env["HDP_LAKE_URL"].startswith("s3://") and "minio" in env["HDP_S3_ENDPOINT"]
        assert "@clickhouse:8123" in env["HDP_CLICKHOUSE_URL"]


def test_depends_on_is_a_dag_with_init_first(compose):
    services = compose["services"]
    deps = {}
    for name, svc in services.items():
        d = svc.get("depends_on") or {}
        if isinstance(d, list):
            d = {x: {"condition": "service_started"} for x in d}
        for dep in d:
            assert dep in services, f"{name} depends on unknown {dep}"
        deps[name] = d
    # topological order (Kahn): every service gets one, or there is a cycle
    order, ready = [], [s for s in services if not deps[s]]
    left = {s: set(d) for s, d in deps.items()}
    while ready:
        s = ready.pop()
        order.append(s)
        for t, d in left.items():
            if s in d:
                d.discard(s)
                if not d and t not in order and t not in ready:
                    ready.append(t)
    assert len(order) == len(services), f"cycle among {set(services) - set(order)}"
    for part in HDP_PARTS:
        assert deps[part]["init"]["condition"] == "service_completed_successfully", part
    assert str(services["init"]["restart"]) == "no"
    for backing in ("postgres", "redis", "clickhouse", "minio"):
        assert deps["init"][backing]["condition"] == "service_healthy", backing
        assert "healthcheck" in services[backing]
    assert order.index("init") < min(order.index(p) for p in HDP_PARTS)
    for name, d in deps.items():
        for dep, cond in d.items():
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health"
            if cond["condition"] == "service_completed_successfully":
                assert str(services[dep].get("restart", "no")) == "no", dep


def test_every_long_running_service_has_a_healthcheck(compose):
    for name, svc in compose["services"].items():
        if long_running(svc):
            hc = svc.get("healthcheck")
            assert hc and hc.get("test") and not hc.get("disable"), name


def test_named_volumes_are_declared(compose):
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, svc in compose["services"].items():
        for v in svc.get("volumes") or []:
            src = v["source"] if isinstance(v, dict) else v.split(":")[0]
            if src.startswith((".", "/", "~")):
                path = os.path.normpath(os.path.join(DEPLOY, src))
                assert os.path.exists(path), f"{name}: bind mount {src} does not exist"
                continue
            used.add(src)
    assert used <= declared, f"undeclared volumes {used - declared}"
    assert declared <= used, f"declared but unused {declared - used}"
    for stateful in ("postgres", "redis", "clickhouse", "minio", "grafana"):
        assert any(not str(v).startswith(".") for v in compose["services"][stateful]["volumes"])


def strings(node):
    """Every string of a parsed YAML document, keys included (what compose interpolates)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, str):
        yield node.replace("$$", "")


def test_every_variable_is_in_env_example_and_no_secret_is_written(compose):
    example = env_example()
    text = "\n".join(strings(compose))
    refs = VAR_REF.findall(text)
    assert refs
    for name, op, default in refs:
        assert name in example, f"${{{name}}} is not in deploy/.env.example"
        if SECRETISH.search(name) or name.endswith("_USER"):
            assert op in ("", ":?", "?") or default == "", f"${{{name}}} has a default {default!r}"
    bare = re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", text)
    assert not bare, f"unbraced variables {bare}"
    ref = r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}"
    for name, svc in compose["services"].items():
        for key, value in env_of(svc).items():
            if SECRETISH.search(key):
                assert re.fullmatch(ref, value), f"{name}.{key} is written in the file"
                default = VAR_REF.fullmatch(value).group(3) or ""
                op = VAR_REF.fullmatch(value).group(2) or ""
                assert op.endswith("?") or default == "", f"{name}.{key} has a default"
            secrets = re.findall(r"password=(\$\{[^}]*\}|\S+)", value)
            secrets += re.findall(r"://[^/:@\s]+:(\$\{[^}]*\}|[^@\s/]+)@", value)
            if key.endswith(("_DSN", "_URL")) and "@" in value:
                assert secrets, f"{name}.{key}: credentials in a form this test cannot read"
            for secret in secrets:
                assert re.fullmatch(ref, secret), f"{name}.{key}: a literal password"
    # the example holds placeholders, never something that looks like a real secret
    for key, value in example.items():
        if SECRETISH.search(key):
            assert value in ("", "CHANGE-ME"), f".env.example {key}={value!r}"


def test_git_ignores_env_files_but_not_the_example():
    def ignored(path):
        return subprocess.run(["git", "-C", ROOT, "check-ignore", "-q", path]).returncode == 0
    assert ignored("deploy/.env") and ignored(".env")
    assert not ignored("deploy/.env.example")


def test_host_ports_do_not_collide(compose):
    seen = {}
    for name, svc in compose["services"].items():
        for p in svc.get("ports") or []:
            parts = str(p).split(":")
            host = (parts[0] if len(parts) == 3 else "0.0.0.0", parts[-2] if len(parts) > 1
                    else parts[0])
            assert host[1] not in {h[1] for h in seen}, f"{name} and {seen.get(host)}: {p}"
            seen[host] = name
    assert seen, "no published port at all"


# ------------------------------------------------------------------ the image


def dockerfile_stages():
    """[(stage text)] split at FROM; the apt-get install package list of each."""
    with open(DOCKERFILE) as f:
        text = f.read()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    out = []
    for st in stages:
        pkgs = set()
        for cmd in re.findall(r"apt-get install([^&]*)", st.replace("\\\n", " ")):
            pkgs |= {w for w in cmd.split() if not w.startswith("-")}
        out.append((st, pkgs))
    return out


def dpkg_owner(path, follow=True):
    """The Debian package owning path (follow: of the file a symlink points to)."""
    path = os.path.realpath(path) if follow else os.path.normpath(path)
    out = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if out.returncode != 0:  # merged /usr: dpkg knows the /lib path
        alt = path.replace("/usr/lib/", "/lib/", 1)
        out = subprocess.run(["dpkg", "-S", alt], capture_output=True, text=True)
    assert out.returncode == 0, f"no Debian package owns {path}: {out.stderr}"
    return out.stdout.split(":")[0]


def make_var(name):
    with open(os.path.join(ROOT, "Makefile")) as f:
        m = re.search(rf"^{name}\s*:=\s*(.*)$", f.read(), re.M)
    return m.group(1).split()


def deps_sh_packages():
    with open(os.path.join(ROOT, "scripts", "deps.sh")) as f:
        m = re.search(r"APT_PKGS=\((.*?)\)", f.read(), re.S)
    return {w for w in re.sub(r"#.*", "", m.group(1)).split()}


def test_image_build_stage_has_every_dev_package_of_the_build():
    (_, build), (_, _) = dockerfile_stages()
    deps = deps_sh_packages()
    needed = {"build-essential", "pkg-config"}
    for pc in make_var("PKGS"):
        d = subprocess.run(["pkg-config", "--variable=pcfiledir", pc], capture_output=True,
                           text=True)
        assert d.returncode == 0, f"pkg-config knows no {pc}"
        needed.add(dpkg_owner(os.path.join(d.stdout.strip(), pc + ".pc")))
    for lib in re.findall(r"-l(\w+)", " ".join(make_var("LIBS"))):
        so = subprocess.run(["gcc", f"-print-file-name=lib{lib}.so"], capture_output=True,
                            text=True).stdout.strip()
        if os.path.isabs(so):
            pkg = dpkg_owner(so, follow=False)  # the -dev package's libX.so link
            if pkg not in ("libc6-dev",):
                needed.add(pkg)
    assert "libxxhash-dev" in needed
    assert needed - {"build-essential", "pkg-config"} <= deps, needed - deps
    assert needed <= build, f"deploy/Dockerfile build stage lacks {needed - build}"


def test_image_runtime_stage_has_every_library_hdp_needs():
    (_, _), (runtime, pkgs) = dockerfile_stages()
    elf = subprocess.run(["readelf", "-d", HDP], capture_output=True, text=True, check=True)
    needed_libs = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", elf.stdout)
    ldd = subprocess.run(["ldd", HDP], capture_output=True, text=True, check=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
    owners = {}
    for lib in needed_libs:
        assert lib in paths, f"ldd does not resolve {lib}"
        pkg = dpkg_owner(paths[lib])
        if pkg != "libc6":  # the base image's C library
            owners[lib] = pkg
    assert "libxxhash0" in owners.values()
    missing = {lib: p for lib, p in owners.items() if p not in pkgs}
    assert not missing, f"deploy/Dockerfile runtime stage lacks {missing}"
    assert "ENTRYPOINT [\"hdp\"]" in runtime and "curl" in pkgs  # serve's healthcheck


# ------------------------------------------------------------------ healthchecks, for real


def shell_of(hc):
    t = hc["test"]
    if t[0] == "CMD-SHELL":
        return t[1]
    assert t[0] == "CMD"
    return " ".join(shlex.quote(a) for a in t[1:])


def healthy(cmd, stack, path):
    return subprocess.run(["sh", "-c", cmd], env=dict(stack.env, PATH=path),
                          capture_output=True, timeout=60).returncode == 0


def eventually(pred, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.5)
    return pred()


def test_hdp_healthchecks_pass_with_the_part_running_and_fail_without(compose, tmp_path):
    """Each hdp healthcheck runs in this shell with build/ first on PATH (the image's
    /usr/local/bin/hdp) against a private stack; serve's port is the stack's."""
    services = compose["services"]
    path = os.path.dirname(HDP) + os.pathsep + os.environ["PATH"]
    s = Stack(tmp_path, clickhouse=True)
    try:
        checks = {n: shell_of(services[n]["healthcheck"]) for n in HDP_PARTS}
        checks["serve"] = checks["serve"].replace("127.0.0.1:8080", f"127.0.0.1:{s.http_port}")
        assert "8080" not in checks["serve"]
        for name in ("capture", "speed", "serve"):
            assert not healthy(checks[name], s, path), f"{name} healthy before it started"
            s.start(name, name)
            assert eventually(lambda: healthy(checks[name], s, path)), \
                f"{name} never healthy: {checks[name]}\n{s.log(name)}"
            s.kill9(name)
            assert eventually(lambda: not healthy(checks[name], s, path)), \
                f"{name} still healthy after kill -9"
        # the scheduler's check: every service up and no failed task
        s.start("scheduler", "scheduler")
        assert eventually(lambda: healthy(checks["scheduler"], s, path), timeout=60), \
            s.hdp("status", check=False).stdout + s.log("scheduler")
        s.ch.stop()
        assert eventually(lambda: not healthy(checks["scheduler"], s, path))
    finally:
        s.close()
