"""Real Celery workers and beat as subprocesses, for tests/test_celery_e2e.py and the benchmarks.

Each process runs in a session (and process group) of its own, so a prefork worker and its
pool children are stopped together, with SIGKILL if need be: nothing is left running. Output
goes to a log file, read back to wait for a process to be ready and to explain a failure.

No Django or pytest here: bench/escalation_latency.py imports it too.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# The venv running this Python holds the celery command (and the project's packages).
CELERY = Path(sys.executable).parent / "celery"


def wait_until(predicate, *, timeout, interval=0.2, what="the condition"):
    """Poll `predicate` until it returns something truthy; return it, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def redis_url_with_db(url, db):
    """`url` pointing at Redis database number `db` (a dedicated one, so nothing collides)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def database_url(settings_dict):
    """A DATABASE_URL for a Django PostgreSQL settings dict (e.g. the test database's)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


class CeleryProcess:
    """One `celery -A homevisits worker|beat` process group, logging to `log_path`."""

    def __init__(self, name, args, *, env, log_path, cwd=ROOT):
        self.name = name
        self.args = [str(CELERY), "-A", "homevisits", *args]
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.started_at = time.time()
        self.popen = subprocess.Popen(
            self.args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pgid = self.popen.pid

    def __repr__(self):
        return f"<CeleryProcess {self.name} pid={self.popen.pid}>"

    def running(self):
        return self.popen.poll() is None

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for_log(self, text, *, timeout):
        def seen():
            if text in self.log_text():
                return True
            if not self.running():
                raise RuntimeError(
                    f"{self.name} exited with {self.popen.returncode} before logging {text!r}:\n"
                    f"{self.log_tail()}"
                )
            return False

        try:
            wait_until(seen, timeout=timeout, what=f"{self.name} to log {text!r}")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{self.name} log:\n{self.log_tail()}") from None

    def signal_group(self, sig):
        """Send `sig` to the whole process group; False if the group is already gone."""
        try:
            os.killpg(self.pgid, sig)
        except ProcessLookupError:
            return False
        return True

    def kill(self):
        """SIGKILL the process and its pool children at once, as a crash or an OOM kill would."""
        self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._wait_group_gone(timeout=5)

    def stop(self, *, grace=5.0):
        """SIGTERM (warm shutdown), then SIGKILL whatever is left of the group after `grace`."""
        try:
            if self.running():
                self.signal_group(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=grace)
            # Always: the leader may be gone while pool children linger.
            self.signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=10)
            self._wait_group_gone(timeout=5)
        finally:
            self._log.close()

    def _live_members(self):
        """Processes of the group that are not yet dead (a zombie waiting for init is dead)."""
        proc = Path("/proc")
        if not proc.is_dir():  # not Linux: ask the kernel whether the group has any member
            try:
                os.killpg(self.pgid, 0)
            except ProcessLookupError:
                return []
            return [self.pgid]
        live = []
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid pgrp ...; comm may hold spaces, so split after its ")".
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == self.pgid and fields[0] not in ("Z", "X"):
                live.append(int(entry.name))
        return live

    def _wait_group_gone(self, *, timeout):
        def gone():
            if not self._live_members():
                return True
            self.signal_group(signal.SIGKILL)
            return False

        with contextlib.suppress(TimeoutError):
            wait_until(gone, timeout=timeout, interval=0.05, what=f"{self.name} to exit")


class CeleryStack:
    """The overdue watch as production runs it: prefork workers and one beat, started here."""

    def __init__(self, *, env, workdir):
        self.env = env
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.processes = []
        self._workers = 0

    def start_worker(self, *, concurrency=2, loglevel="INFO", queues=None, name=None, node=None):
        """A prefork worker; `queues` as for -Q ("celery" the watch, "outbox" the sender; by
        default both). `node` fixes its node name, as production's does across restarts."""
        self._workers += 1
        name = f"{name or 'worker'}{self._workers}"
        proc = CeleryProcess(
            name,
            [
                "worker",
                f"--loglevel={loglevel}",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                f"--hostname={node or f'{name}-{os.getpid()}@%h'}",
                *([f"--queues={queues}"] if queues else []),
            ],
            env=self.env,
            log_path=self.workdir / f"{name}.log",
        )
        self.processes.append(proc)
        return proc

    def start_beat(self, *, loglevel="INFO"):
        proc = CeleryProcess(
            "beat",
            [
                "beat",
                f"--loglevel={loglevel}",
                f"--schedule={self.workdir / 'celerybeat-schedule'}",
            ],
            env=self.env,
            log_path=self.workdir / "beat.log",
        )
        self.processes.append(proc)
        return proc

    def stop_all(self):
        errors = []
        for proc in reversed(self.processes):
            try:
                proc.stop()
            except Exception as exc:  # keep stopping the others
                errors.append(f"{proc}: {exc!r}")
        if errors:
            raise RuntimeError("Could not stop: " + "; ".join(errors))

    def logs(self, lines=40):
        return "\n".join(
            f"--- {p.name} ({p.log_path}):\n{p.log_tail(lines)}" for p in self.processes
        )


def worker_env(*, database_url, redis_url, sweep_seconds, **extra):
    """The environment of a worker or beat: this one, pointed at the given database and Redis."""
    env = {
        key: value
        for key, value in os.environ.items()
        # pytest's own variables mean nothing to a worker.
        if not key.startswith(("PYTEST_", "DJANGO_ALLOW_ASYNC"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="homevisits.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=os.environ.get("SECRET_KEY") or "celery-e2e-only-secret",
        DEBUG="false",
        ESCALATION_SWEEP_SECONDS=str(sweep_seconds),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "INFO"),
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env
