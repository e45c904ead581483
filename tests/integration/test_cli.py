"""The command line contract: help, exit codes, configuration errors, the README's table."""
import os
import subprocess

from stack import HDP, ROOT

ENV = {k: v for k, v in os.environ.items() if not k.startswith("HDP_")}
ENV["HDP_ENV_FILE"] = os.devnull


def run(*args, **env):
    e = dict(ENV, **env)
    return subprocess.run([HDP, *args], env=e, capture_output=True, text=True, timeout=60)


def test_help_lists_every_subcommand():
    out = run("--help")
    assert out.returncode == 0
    for cmd in ["init", "up", "generate", "capture", "speed", "serve", "scheduler", "run",
                "status", "reconcile"]:
        assert f"  {cmd} " in out.stdout, cmd
        sub = run(cmd, "--help")
        assert sub.returncode == 0 and f"usage: hdp {cmd}" in sub.stdout


def test_every_command_is_built():
    top = run("--help").stdout
    assert "not built yet" not in top
    assert run("scheduler", "--bogus").returncode == 2


def test_run_unknown_task_exits_2_listing_tasks():
    out = run("run", "no-such-task")
    assert out.returncode == 2 and "compact" in out.stderr and "dag" in out.stderr
    assert run("run").returncode == 2
    assert run("run", "compact", "--every", "0").returncode == 2


def test_usage_errors_exit_2():
    assert run().returncode == 2
    out = run("no-such-command")
    assert out.returncode == 2 and "unknown command" in out.stderr
    out = run("status", "--bogus")
    assert out.returncode == 2


def test_bad_configuration_is_one_line_naming_the_variable():
    cases = {
        "HDP_SEGMENT_SECONDS": "abc",
        "HDP_BATCH_INTERVAL": "0",
        "HDP_REDIS_URL": "http://nope",
        "HDP_LAKE_URL": "ftp://x",
        "HDP_CLICKHOUSE_URL": "http://127.0.0.1:8123/?db=x",
        "HDP_HTTP_ADDR": "8080",
        "HDP_LOG_LEVEL": "loud",
    }
    for var, value in cases.items():
        out = run("status", **{var: value})
        assert out.returncode == 2, (var, out)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and var in lines[0], (var, out.stderr)


def test_env_file_is_read_and_environment_wins(tmp_path):
    f = tmp_path / "env"
    f.write_text("HDP_SEGMENT_SECONDS=17\nHDP_API_TOKEN='s3cret'\n")
    out = run("config", HDP_ENV_FILE=str(f))
    assert "HDP_SEGMENT_SECONDS=17" in out.stdout
    assert "s3cret" not in out.stdout  # secrets are masked
    out = run("config", HDP_ENV_FILE=str(f), HDP_SEGMENT_SECONDS="5")
    assert "HDP_SEGMENT_SECONDS=5" in out.stdout


def test_readme_configuration_table_matches_the_binary():
    table = run("config", "--markdown").stdout
    with open(os.path.join(ROOT, "README.md")) as f:
        assert table in f.read(), "README's table is stale: paste `hdp config --markdown`"


def test_no_credential_is_printed_by_config_or_serve(tmp_path):
    """Issue 10 #7: a Redis password in a bad URL, a ClickHouse password, an S3 endpoint's
    userinfo — never in `hdp config`'s output or in an error, whichever command prints it."""
    bad = run("config", HDP_REDIS_URL="redis://:RealPass-42@127.0.0.1:6379/abc")
    assert bad.returncode == 2
    assert "HDP_REDIS_URL" in bad.stderr and "RealPass-42" not in bad.stderr + bad.stdout
    assert len(bad.stderr.strip().splitlines()) == 1
    serve = run("serve", HDP_REDIS_URL="redis://:RealPass-42@127.0.0.1:99999")
    assert serve.returncode == 2 and "RealPass-42" not in serve.stderr + serve.stdout
    out = run("config", HDP_CLICKHOUSE_URL="http://chuser:ChPw-321@127.0.0.1:8123",
              HDP_REDIS_URL="redis://user:Pw%40x@127.0.0.1:6379/0")
    assert out.returncode == 0
    for secret in ["ChPw-321", "Pw%40x", "Pw@x"]:
        assert secret not in out.stdout + out.stderr, secret
    assert "HDP_CLICKHOUSE_URL=http://chuser:***@127.0.0.1:8123" in out.stdout
    # S3 keys belong in HDP_S3_ACCESS_KEY/SECRET_KEY: a URL holding them is refused, unshown
    out = run("config", HDP_S3_ENDPOINT="http://ak:S3Pw-9@127.0.0.1:9000")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "HDP_S3_ENDPOINT" in out.stderr and "S3Pw-9" not in out.stderr + out.stdout


def test_default_lake_follows_var_dir(tmp_path):
    """Issue 10 #13: without HDP_LAKE_URL the lake is $HDP_VAR_DIR/lake, absolute."""
    out = run("config", HDP_VAR_DIR="/tmp/x")
    assert "HDP_LAKE_URL=file:///tmp/x/lake\n" in out.stdout
    rel = subprocess.run([HDP, "config"], env=dict(ENV, HDP_VAR_DIR="state"), cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert f"HDP_LAKE_URL=file://{tmp_path}/state/lake\n" in rel.stdout
