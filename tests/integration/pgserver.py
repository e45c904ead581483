"""A private PostgreSQL server for integration tests.

start_postgres(tmpdir) runs initdb and pg_ctl as the `postgres` OS user when the tests run as
root (PostgreSQL refuses to run as root), on a free port that is never 5432 or 55432, with
wal_level=logical. stop_postgres(handle) stops it; call it in teardown whatever happened.
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess

RESERVED_PORTS = {5432, 55432}


def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (run scripts/deps.sh)")
    return os.path.dirname(found[-1])


def _free_port():
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


class PgServer:
    def __init__(self, datadir, sockdir, port, bindir, runas):
        self.datadir = datadir
        self.sockdir = sockdir
        self.port = port
        self.bindir = bindir
        self.runas = runas

    def dsn(self, dbname="postgres"):
        return f"host=127.0.0.1 port={self.port} user=hdp dbname={dbname}"

    def psql(self, dbname, sql=None, file=None, check=True):
        """Runs psql (quiet, tuples only, stop on error); returns stdout."""
        args = [os.path.join(self.bindir, "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                "-d", self.dsn(dbname)]
        if file:
            args += ["-f", file]
        else:
            args += ["-c", sql]
        out = subprocess.run(args, capture_output=True, text=True)
        if check and out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr.strip()}")
        return out.stdout


def _run(cmd, runas):
    if runas:
        cmd = ["runuser", "-u", runas, "--"] + cmd
    subprocess.run(cmd, check=True, capture_output=True)


def start_postgres(tmpdir):
    """Initialises and starts a cluster under tmpdir; returns a PgServer."""
    bindir = _pg_bin()
    root = os.path.join(str(tmpdir), "pg")
    datadir = os.path.join(root, "data")
    sockdir = os.path.join(root, "sock")
    os.makedirs(sockdir, exist_ok=True)
    runas = "postgres" if os.geteuid() == 0 else None
    if runas:
        pw = pwd.getpwnam(runas)
        for d in (str(tmpdir), root, sockdir):
            os.chmod(d, 0o755)  # postgres must reach its data and socket folders
        for d in (root, sockdir):
            os.chown(d, pw.pw_uid, pw.pw_gid)
    _run([os.path.join(bindir, "initdb"), "-D", datadir, "-A", "trust", "-U", "hdp",
          "-E", "UTF8", "--no-sync"], runas)
    port = _free_port()
    opts = (f"-p {port} -k {sockdir} -c wal_level=logical -c listen_addresses=127.0.0.1 "
            "-c fsync=off")
    _run([os.path.join(bindir, "pg_ctl"), "-D", datadir, "-o", opts, "-l",
          os.path.join(root, "log"), "-w", "start"], runas)
    return PgServer(datadir, sockdir, port, bindir, runas)


def stop_postgres(handle):
    """Stops the server (fast mode); safe to call twice."""
    if handle is None or not os.path.exists(os.path.join(handle.datadir, "postmaster.pid")):
        return
    _run([os.path.join(handle.bindir, "pg_ctl"), "-D", handle.datadir, "-m", "fast", "-w",
          "stop"], handle.runas)


def create_shop(handle, dbname, schema_file):
    """Creates database dbname and applies the shop schema to it."""
    handle.psql("postgres", f"CREATE DATABASE {dbname}")
    handle.psql(dbname, file=schema_file)
