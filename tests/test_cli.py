"""The ``neurograph-lab`` command line, run for real as a subprocess."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import neurograph_lab as ng
from neurograph_lab import _core, cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


PASSWORD = "correct horse battery staple"


class ServeProcess:
    """``neurograph-lab serve SNAPSHOT --port 0`` as a subprocess; its output is read by a
    thread, and the URL it prints is waited for (generous timeout, no sleeps)."""

    def __init__(self, snapshot: Path, *args: str, env: dict[str, str] | None = None) -> None:
        env = {**os.environ, "NG_ADMIN_PASSWORD": PASSWORD} if env is None else env
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "neurograph_lab", "serve", str(snapshot), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        while True:
            try:
                line = self.lines.get(timeout=120)
            except queue.Empty:
                self.popen.kill()
                raise AssertionError("no URL printed:\n" + "".join(self.seen)) from None
            if line == "":
                raise AssertionError("the server exited:\n" + "".join(self.seen))
            m = re.match(r"url: (http://\S+)", line)
            if m:
                self.url = m.group(1)
                self.port = int(self.url.rsplit(":", 1)[1])
            if line.startswith("journal:"):  # the last line of the start banner
                return

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.seen.append(line)
            self.lines.put(line)
        self.lines.put("")

    def wait(self, timeout: float = 120) -> str:
        """Wait for the process to exit; returns everything it printed."""
        self.popen.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        return "".join(self.seen)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.wait()


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "neurograph_lab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def test_help_names_the_command_and_its_options() -> None:
    top = run("--help")
    assert top.returncode == 0
    assert "serve" in top.stdout
    r = run("serve", "--help")
    assert r.returncode == 0
    for flag in ("SNAPSHOT", "--host", "--port", "--journal", "--state-dir", "NG_ADMIN_PASSWORD"):
        assert flag in r.stdout, flag


def test_the_console_script_is_declared() -> None:
    text = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert 'neurograph-lab = "neurograph_lab.cli:main"' in text
    assert cli.build_parser().prog == "neurograph-lab"


def test_no_command_is_a_usage_error() -> None:
    r = run()
    assert r.returncode == 2
    assert "usage: neurograph-lab" in r.stderr


def test_a_snapshot_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    r = run("serve", str(tmp_path / "nope" / "lab.ngs"), "--port", "0")
    assert r.returncode == 1
    assert "does not exist" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_port_out_of_range_is_refused_before_serving(tmp_path: Path) -> None:
    snap = tmp_path / "lab.ngs"
    ng.Runtime().save(snap)
    r = run("serve", str(snap), "--port", "70000", env={"NG_ADMIN_PASSWORD": PASSWORD})
    assert r.returncode == 1
    assert "--port must be 0..65535, got 70000" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "lab.ngs.state").exists()


def test_a_directory_is_not_a_snapshot(tmp_path: Path) -> None:
    r = run("serve", str(tmp_path), "--port", "0")
    assert r.returncode == 1
    assert "not a regular file" in r.stderr


def test_a_corrupted_snapshot_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    snap = tmp_path / "lab.ngs"
    rt = ng.Runtime()
    rt.tokens.create_many([[[0.1, 0.2, 0.3]] * 8] * 3)
    rt.save(snap)
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0x55
    snap.write_bytes(bytes(data))
    r = run("serve", str(snap), "--port", "0", env={"NG_ADMIN_PASSWORD": "correct horse battery"})
    assert r.returncode == 1
    assert "cannot serve" in r.stderr and "lab.ngs" in r.stderr
    assert "corrupted" in r.stderr or "checksum" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert snap.read_bytes() == bytes(data), "a refused snapshot is left as it is"


def test_sigterm_stops_the_server_compacts_and_frees_the_port(tmp_path: Path) -> None:
    snap = tmp_path / "lab.ngs"
    with ServeProcess(snap) as proc:
        assert snap.exists(), "the snapshot is created on first start"
        assert (tmp_path / "lab.ngs.journal").is_dir()
        with socket.create_connection(("127.0.0.1", proc.port), timeout=30):
            pass
        proc.popen.send_signal(signal.SIGTERM)
        out = proc.wait()
        assert proc.popen.returncode == 0, out
        assert "stopped" in out
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
        s.bind(("127.0.0.1", proc.port))  # free again
    # a clean stop leaves the snapshot and one empty journal segment
    segments = sorted((tmp_path / "lab.ngs.journal").glob("journal-*.ngj"))
    assert len(segments) == 1 and segments[0].stat().st_size == 24


@pytest.mark.skipif(not hasattr(_core.Server, "users"), reason="needs the server's user bindings")
def test_no_admin_and_no_password_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NG_ADMIN_PASSWORD"}
    r = subprocess.run(
        [sys.executable, "-m", "neurograph_lab", "serve", str(tmp_path / "lab.ngs"), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 1
    assert "NG_ADMIN_PASSWORD" in r.stderr
    assert "url:" not in r.stdout


@pytest.mark.skipif(not hasattr(_core.Server, "users"), reason="needs the server's user bindings")
def test_first_start_creates_the_admin_and_prints_a_login_link(tmp_path: Path) -> None:
    snap = tmp_path / "lab.ngs"
    with ServeProcess(snap) as proc:
        out_start = "".join(proc.seen)
        assert "login: http://127.0.0.1:" in out_start
        proc.popen.send_signal(signal.SIGTERM)
        proc.wait()
    # the second start finds the admin: no password needed any more
    env = {k: v for k, v in os.environ.items() if k != "NG_ADMIN_PASSWORD"}
    with ServeProcess(snap, env=env) as proc:
        proc.popen.send_signal(signal.SIGTERM)
        assert proc.popen.wait(timeout=120) == 0


def test_sigint_stops_it_too(tmp_path: Path) -> None:
    with ServeProcess(tmp_path / "lab.ngs") as proc:
        proc.popen.send_signal(signal.SIGINT)
        out = proc.wait()
        assert proc.popen.returncode == 0, out
