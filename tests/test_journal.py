"""The durable journal, end to end: the standalone server is killed with SIGKILL while clients
write, restarted on the same snapshot and journal, and every write it acknowledged is there."""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

import pytest

import neurograph_lab as ng

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

PASSWORD = "correct horse battery staple"
CLIENTS = 4
KILL_AFTER = 240  # acknowledged writes before the SIGKILL


class ServeProcess:
    """``neurograph-lab serve SNAPSHOT --port 0 --print-key`` as a subprocess; its output is
    read by a thread, and the URL and admin key it prints are waited for (generous timeout, no
    sleeps)."""

    def __init__(self, snapshot: Path, *args: str) -> None:
        env = {**os.environ, "NG_ADMIN_PASSWORD": PASSWORD}
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "neurograph_lab", "serve", str(snapshot), "--port", "0", "--print-key", *args],
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
            m = re.match(r"api key: (\S+)", line)
            if m:
                self.key = m.group(1)
                return

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.seen.append(line)
            self.lines.put(line)
        self.lines.put("")

    def wait(self, timeout: float = 120) -> str:
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


def call(url: str, method: str, path: str, body: Any = None, token: Optional[str] = None) -> tuple[int, Any]:
    """One JSON request; (status, parsed body). Connection failures raise OSError."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def writer(
    url: str, token: str, n: int, acked: list[tuple[str, Any]], enough: threading.Event, errors: list[str]
) -> None:
    """Create tokens (and a connection between each pair) until the server goes away;
    record what was acknowledged."""
    prev = None
    i = 0
    while True:
        label = f"c{n}-{i}"
        i += 1
        try:
            status, body = call(
                url, "POST", "/api/v1/tokens", {"coords": {"physical": [0.1, 0.2, 0.3]}, "label": label}, token
            )
            if status != 201:
                errors.append(f"token {label}: {status} {body}")
                return
            tid = int(body["id"])
            acked.append(("token", (tid, label)))
            if prev is not None:
                status, body = call(url, "POST", "/api/v1/connections", {"token_a": prev, "token_b": tid}, token)
                if status != 201:
                    errors.append(f"connection {prev}->{tid}: {status} {body}")
                    return
                acked.append(("connection", (int(body["id"]), prev, tid)))
            prev = tid
        except (OSError, http.client.HTTPException):
            return  # the server is gone: the request in flight was never acknowledged
        if len(acked) >= KILL_AFTER:
            enough.set()


def test_every_acknowledged_write_survives_kill_9(tmp_path: Path) -> None:
    snap = tmp_path / "lab.ngs"
    acked: list[tuple[str, Any]] = []
    errors: list[str] = []
    enough = threading.Event()
    with ServeProcess(snap) as proc:
        token = proc.key
        threads = [
            threading.Thread(target=writer, args=(proc.url, token, n, acked, enough, errors)) for n in range(CLIENTS)
        ]
        for t in threads:
            t.start()
        reached = enough.wait(timeout=300)
        proc.popen.send_signal(signal.SIGKILL)
        proc.wait()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert reached, f"only {len(acked)} writes were acknowledged"
    tokens = [v for kind, v in acked if kind == "token"]
    connections = [v for kind, v in acked if kind == "connection"]
    assert len(tokens) + len(connections) >= KILL_AFTER

    with ServeProcess(snap) as proc:
        token = proc.key
        for tid, label in tokens:
            status, body = call(proc.url, "GET", f"/api/v1/tokens/{tid}", token=token)
            assert status == 200, (tid, body)
            assert body["label"] == label
        for cid, a, b in connections:
            status, body = call(proc.url, "GET", f"/api/v1/connections/{cid}", token=token)
            assert status == 200, (cid, body)
            assert (body["token_a"], body["token_b"]) == (a, b)
        proc.popen.send_signal(signal.SIGTERM)
        assert "stopped" in proc.wait()
        assert proc.popen.returncode == 0

    # the clean stop compacted everything into the snapshot: it holds every write on its own
    rt = ng.Runtime.load(snap)
    for tid, label in tokens:
        assert rt.tokens.get(tid).label == label
    assert rt.status().connections >= len(connections)
