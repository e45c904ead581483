"""Small reusable helpers that start private services for integration tests.

Every service runs on a free port under the test's tmpdir and is stopped by the test;
nothing here touches the default ports (6379, 5432)."""
import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


# The standard ports and the ones `hdp up` uses by default: tests never take them.
AVOID_PORTS = {5432, 6379, 8080, 8123, 9000, 55432, 56379, 58123, 59000}


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (never one of AVOID_PORTS)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in AVOID_PORTS:
            return port


def wait_port(port, timeout=10.0, proc=None):
    """Waits until 127.0.0.1:port accepts connections; raises when it does not in time
    or when proc (if given) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"port {port} did not open within {timeout}s")


def start_redis(tmpdir, port=None, persistent=False, password=None):
    """Starts a private redis-server; returns (proc, port). Pass port to restart one on the
    port (and data folder) a previous instance used. persistent=True keeps an append-only
    file fsynced at every write, as the speed layer's durability needs. password: the
    default user needs it (requirepass)."""
    port = port or free_port()
    d = os.path.join(str(tmpdir), f"redis-{port}")
    os.makedirs(d, exist_ok=True)
    log = open(os.path.join(d, "redis.log"), "ab")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "yes" if persistent else "no", "--appendfsync", "always",
         "--daemonize", "no", "--dir", d] + (["--requirepass", password] if password else []),
        stdout=log, stderr=subprocess.STDOUT)
    log.close()
    wait_port(port, proc=proc)
    return proc, port


def stop_redis(proc):
    """Stops a redis-server started by start_redis and waits for it to exit."""
    stop_process(proc)


def stop_process(proc, timeout=10.0):
    """SIGTERM, then SIGKILL after timeout; returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class BotStub:
    """Telegram's Bot API, the one SaaS the tests cannot reach, as a local HTTP server.
    Every sendMessage request is kept in `requests` as (path, body, mode); the accepted ones
    in `messages` as (path, body). `mode` decides the answer: "ok"; "hang" (no answer for
    30 s); or an HTTP status such as "401" or "500", answered with a refusal that echoes the
    request path (bot token and all) raw and percent-encoded in its description and in a
    header, as a careless proxy might."""

    def __init__(self):
        self.requests, self.messages, self.mode = [], [], "ok"
        stub = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                mode = stub.mode
                stub.requests.append((self.path, body, mode))
                if mode == "hang":
                    time.sleep(30)
                    return
                if mode == "ok":
                    stub.messages.append((self.path, body))
                    code, answer = 200, {"ok": True, "result": {}}
                else:
                    code = int(mode)
                    answer = {"ok": False, "error_code": code,
                              "description": f"Refused: bad token in {self.path} "
                                             f"({urllib.parse.quote(self.path, safe='')})"}
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Echo", self.path)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
