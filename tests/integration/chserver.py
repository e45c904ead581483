"""A private ClickHouse server for integration tests.

start_clickhouse(tmpdir) writes a minimal configuration (the Debian 18.16 package ships no
running server) under tmpdir/clickhouse-PORT, starts `clickhouse-server` on free ports from
services.free_port() and waits until `SELECT 1` answers over HTTP. The server has the user
`default` (no password, loopback only) and, when a password is given, the user `hdp` with
that password (stored as SHA-256). stop() stops it; kill9() kills it; restart() starts it again
on the same ports and data folder (for outage tests). Logs stay in the server's folder.
"""
import hashlib
import os
import shutil
import signal
import subprocess
import time
import urllib.parse

import requests

from services import free_port, stop_process

CANDIDATES = ["clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"]


def server_binary():
    for c in CANDIDATES:
        path = shutil.which(c) or (c if os.access(c, os.X_OK) else None)
        if path:
            return path
    raise RuntimeError("clickhouse-server not found (run scripts/deps.sh)")


CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>information</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog>
    <console>0</console></logger>
  <http_port>{http}</http_port><tcp_port>{tcp}</tcp_port><listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path><tmp_path>{d}/tmp/</tmp_path><user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config><default_profile>default</default_profile>
  <default_database>default</default_database><timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size><max_concurrent_queries>100</max_concurrent_queries>
</yandex>
"""

USER = """    <{name}>{password}<networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota></{name}>
"""

USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
{users}  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"""


class ClickHouse:
    def __init__(self, folder, http_port, tcp_port, password):
        self.dir = folder
        self.http_port = http_port
        self.tcp_port = tcp_port
        self.password = password
        self.proc = None
        self.session = requests.Session()

    @property
    def url(self):
        """For HDP_CLICKHOUSE_URL: the user hdp when there is a password, else default."""
        if self.password:
            pw = urllib.parse.quote(self.password, safe="")
            return f"http://hdp:{pw}@127.0.0.1:{self.http_port}/?database=hdp"
        return f"http://127.0.0.1:{self.http_port}"

    def url_for(self, user=None, password=None, database=None):
        auth = ""
        if user:
            pw = urllib.parse.quote(password, safe="") if password is not None else None
            auth = user + (f":{pw}" if pw is not None else "") + "@"
        db = f"/?database={database}" if database else ""
        return f"http://{auth}127.0.0.1:{self.http_port}{db}"

    def query(self, sql, data=None, **params):
        """Runs sql over HTTP as `default` (the body is sql, or data with sql as the query
        parameter); returns the text of the answer, raises on an error."""
        if data is None:
            r = self.session.post(f"http://127.0.0.1:{self.http_port}/", params=params,
                                  data=sql.encode(), timeout=120)
        else:
            r = self.session.post(f"http://127.0.0.1:{self.http_port}/",
                                  params=dict(params, query=sql), data=data, timeout=120)
        if r.status_code != 200:
            raise RuntimeError(f"ClickHouse: HTTP {r.status_code}: {r.text.strip()[:500]}")
        return r.text

    def ready(self):
        try:
            return self.query("SELECT 1").strip() == "1"
        except (requests.RequestException, RuntimeError):
            return False

    def start(self, timeout=60.0):
        log = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen([server_binary(), f"--config-file={self.dir}/config.xml"],
                                     cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"clickhouse-server exited with {self.proc.returncode}: "
                                   + self.last_error())
            if time.monotonic() > deadline:
                raise RuntimeError("clickhouse-server did not answer SELECT 1 in time: "
                                   + self.last_error())
            time.sleep(0.1)
        self.session = requests.Session()

    def last_error(self):
        path = os.path.join(self.dir, "error.log")
        if not os.path.exists(path):
            return "(no error log)"
        with open(path, errors="replace") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        return lines[-1] if lines else "(empty error log)"

    def stop(self):
        """SIGTERM and wait; safe to call twice."""
        if self.proc is not None:
            stop_process(self.proc, timeout=30)
            self.proc = None
        self.session.close()

    def kill9(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None
        self.session.close()

    def restart(self, timeout=60.0):
        """Starts again (after stop() or kill9()) on the same ports and data."""
        self.stop()
        self.start(timeout)


def start_clickhouse(tmpdir, port=None, password=None):
    """Starts a private ClickHouse; returns a ClickHouse handle (call stop() in teardown)."""
    http = port or free_port()
    tcp = free_port()
    while tcp == http:
        tcp = free_port()
    folder = os.path.join(str(tmpdir), f"clickhouse-{http}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.xml"), "w") as f:
        f.write(CONFIG.format(d=folder, http=http, tcp=tcp))
    users = USER.format(name="default", password="<password></password>")
    if password:
        digest = hashlib.sha256(password.encode()).hexdigest()
        users += USER.format(name="hdp",
                             password=f"<password_sha256_hex>{digest}</password_sha256_hex>")
    with open(os.path.join(folder, "users.xml"), "w") as f:
        f.write(USERS.format(users=users))
    ch = ClickHouse(folder, http, tcp, password)
    ch.start()
    return ch
