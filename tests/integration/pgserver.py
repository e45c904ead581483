"""A private PostgreSQL server for integration tests.

start_postgres(tmpdir) runs initdb and pg_ctl as the `postgres` OS user when the tests run as
root (PostgreSQL refuses to run as root), on a free port that is never 5432 or 55432, with
wal_level=logical. stop_postgres(handle) stops it; call it in teardown whatever happened.
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from services import free_port



def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (run scripts/deps.sh)")
    return os.path.dirname(found[-1])


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
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip() or out.stdout.strip()}")


def start_postgres(tmpdir):
    """Initialises and starts a cluster; returns a PgServer. The cluster lives in a fresh
    folder under the system temp dir (pytest's tmpdir is private to root, so `postgres` could
    not reach it); its server log is copied to tmpdir/postgres.log when it stops."""
    bindir = _pg_bin()
    root = tempfile.mkdtemp(prefix="hdp-pg-")
    datadir = os.path.join(root, "data")
    sockdir = os.path.join(root, "sock")
    os.makedirs(sockdir)
    runas = "postgres" if os.geteuid() == 0 else None
    if runas:
        pw = pwd.getpwnam(runas)
        for d in (root, sockdir):
            os.chown(d, pw.pw_uid, pw.pw_gid)
    _run([os.path.join(bindir, "initdb"), "-D", datadir, "-A", "trust", "-U", "hdp",
          "-E", "UTF8", "--no-sync"], runas)
    port = free_port()
    opts = (f"-p {port} -k {sockdir} -c wal_level=logical -c listen_addresses=127.0.0.1 "
            "-c fsync=off")
    handle = PgServer(datadir, sockdir, port, bindir, runas)
    handle.root = root
    handle.opts = opts
    handle.logcopy = os.path.join(str(tmpdir), "postgres.log")
    _run([os.path.join(bindir, "pg_ctl"), "-D", datadir, "-o", opts, "-l",
          os.path.join(root, "log"), "-w", "start"], runas)
    return handle


def stop_postgres(handle):
    """Stops the server (fast mode) and removes its folder; safe to call twice."""
    if handle is None or not os.path.isdir(handle.root):
        return
    try:
        if os.path.exists(os.path.join(handle.datadir, "postmaster.pid")):
            _run([os.path.join(handle.bindir, "pg_ctl"), "-D", handle.datadir, "-m", "fast",
                  "-w", "stop"], handle.runas)
    finally:
        log = os.path.join(handle.root, "log")
        if os.path.exists(log):
            shutil.copyfile(log, handle.logcopy)
        shutil.rmtree(handle.root, ignore_errors=True)


def create_shop(handle, dbname, schema_file):
    """Creates database dbname and applies the shop schema to it."""
    handle.psql("postgres", f"CREATE DATABASE {dbname}")
    handle.psql(dbname, file=schema_file)


def add_password_role(handle, role, password):
    """Creates a superuser `role` (replication too) that must log in over TCP with password
    (SCRAM): its pg_hba.conf lines go before the cluster's trust lines, then the server reloads.
    Other users keep trust."""
    handle.psql("postgres", f"SET password_encryption = 'scram-sha-256'; CREATE ROLE {role} "
                f"LOGIN SUPERUSER REPLICATION PASSWORD '{password}'")
    hba = os.path.join(handle.datadir, "pg_hba.conf")
    with open(hba) as f:
        rest = f.read()
    with open(hba, "w") as f:
        f.write(f"host all {role} 127.0.0.1/32 scram-sha-256\n"
                f"host replication {role} 127.0.0.1/32 scram-sha-256\n" + rest)
    _run([os.path.join(handle.bindir, "pg_ctl"), "-D", handle.datadir, "reload"], handle.runas)


def restart_postgres(handle):
    """Restarts the server in fast mode (connections are cut), on the same port and data."""
    _run([os.path.join(handle.bindir, "pg_ctl"), "-D", handle.datadir, "-m", "fast", "-w",
          "-l", os.path.join(handle.root, "log"), "restart"], handle.runas)


def pause_postgres(handle):
    """Stops the server (fast mode) but keeps its data: resume_postgres starts it again on the
    same port. For tests of what happens while PostgreSQL is away."""
    _run([os.path.join(handle.bindir, "pg_ctl"), "-D", handle.datadir, "-m", "fast", "-w",
          "stop"], handle.runas)


def resume_postgres(handle):
    """Starts a server stopped by pause_postgres, with the options it had."""
    _run([os.path.join(handle.bindir, "pg_ctl"), "-D", handle.datadir, "-o", handle.opts, "-l",
          os.path.join(handle.root, "log"), "-w", "start"], handle.runas)
