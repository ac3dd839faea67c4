"""Start JupyterLab on 127.0.0.1 and launch Debian's Chromium, for the browser tests and the
widget benchmark. Jupyter's config, data, runtime, lab settings and workspaces live in tmp dirs,
so the developer's ~/.jupyter is neither read nor written; the ``python3`` kernel is this
interpreter."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

from _lab import REPO, LabServer

CHROMIUM = os.environ.get("NG_CHROMIUM", "/usr/bin/chromium")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-gpu-sandbox",
    "--no-proxy-server",  # a proxy from the environment must not see (or break) 127.0.0.1 traffic
]


# ----------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http_json(url: str, method: str = "GET", timeout: float = 5.0):
    req = urllib.request.Request(url, method=method)
    with _NO_PROXY.open(req, timeout=timeout) as r:
        body = r.read()
        return json.loads(body) if body else None


def _descendants(pid: int) -> set[int]:
    """All live descendants of ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def _lab_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    for k in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_TOKEN", "JUPYTER_PLATFORM_DIRS"):
        env.pop(k, None)
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        IPYTHONDIR=str(tmp / "ipython"),
        JUPYTER_PREFER_ENV_PATH="0",  # search JUPYTER_DATA_DIR (our kernelspec) before sys.prefix
        JUPYTER_ALLOW_INSECURE_WRITES="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    # The python3 kernel is this interpreter, whatever kernelspecs the venv or the system carry.
    _write_json(
        tmp / "data" / "kernels" / "python3" / "kernel.json",
        {
            "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "metadata": {"debugger": False},
        },
    )
    settings = tmp / "settings"
    # Render every cell (no virtual scrolling), so widgets below the fold are mounted too.
    _write_json(
        settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings", {"windowingMode": "none"}
    )
    # Offline: no news, no update check.
    _write_json(
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    return env


# ----------------------------------------------------------------------------- server


@contextlib.contextmanager
def serve(tmp: Path, notebooks: Path = REPO / "tutorials") -> Iterator[LabServer]:
    """JupyterLab from this interpreter on 127.0.0.1:<free port> with a random token, rooted in a
    copy of ``notebooks`` under ``tmp``; stopped (and its child processes checked) on exit."""
    root = tmp / "root"
    shutil.copytree(notebooks, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = _lab_env(tmp)
    token = secrets.token_hex(24)
    log_path = tmp / "jupyterlab.log"

    proc = None
    url = ""
    for _attempt in range(3):  # the free port may be taken between probing and binding
        port = _free_port()
        url = f"http://127.0.0.1:{port}/"
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
            "--KernelSpecManager.ensure_native_kernel=True",
            "--LanguageServerManager.autodetect=False",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        log = open(log_path, "ab")
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                _http_json(f"{url}api/status?token={token}", timeout=2)
                break
            except Exception:
                time.sleep(0.1)
        if proc.poll() is None and time.monotonic() < deadline:
            break
        proc.kill()
        proc.wait()
        proc = None
    if proc is None:
        raise RuntimeError("JupyterLab did not start; log:\n" + log_path.read_text(errors="replace")[-5000:])

    server = LabServer(url=url, token=token, root_dir=root)
    try:
        yield server
    finally:
        before = _descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)  # jupyter_server shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        deadline = time.monotonic() + 10
        leaked = [p for p in before if _alive(p)]
        while leaked and time.monotonic() < deadline:
            time.sleep(0.1)
            leaked = [p for p in leaked if _alive(p)]
        for p in leaked:  # only processes this fixture started
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        if os.environ.get("NG_LAB_LOG"):
            print(log_path.read_text(errors="replace"))
        if leaked:
            raise RuntimeError(f"JupyterLab left child processes running: {leaked}")


def launch_chromium(pw: Any) -> Any:
    """Headless Debian Chromium (never a downloaded browser), WebGL through SwiftShader."""
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        headless=not os.environ.get("NG_HEADED"),
        args=CHROMIUM_ARGS,
        env={**os.environ, "NO_PROXY": "*", "no_proxy": "*"},
    )
