"""``ng.serve``: start, reprs, and every way a server ends (stop, ``with``, the runtime going
away, ``%unload_ext``, interpreter exit, ``%ng_serve --stop``) leaving no port bound and no
thread behind. Real servers on 127.0.0.1, port 0."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Callable

import httpx
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import neurograph_lab as ng

WAIT = 30.0  # generous bound on conditions that hold almost at once


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.fixture(autouse=True)
def _warm_pools() -> None:
    """The core's own worker pool starts with the first write: start it before any baseline
    of the thread count is taken."""
    ng.Runtime().tokens.create(cognitive=(0, 0, 0))


def wait_for(cond: Callable[[], bool], what: str) -> None:
    """Wait until ``cond()`` holds (checked often, for at most WAIT seconds)."""
    deadline = time.monotonic() + WAIT
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT:.0f} s: {what}")
        time.sleep(0.01)


def port_free(port: int) -> bool:
    """The port can be bound again (no listener left on it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError:
        return True
    return False


def test_serve_answers_on_loopback_and_stop_frees_port_and_threads():
    rt = ng.Runtime()
    tid = rt.tokens.create(cognitive=(0.1, 0.2, 0.3), label="cat")
    before_os, before_py = os_threads(), threading.active_count()
    srv = ng.serve(rt)
    assert isinstance(srv, ng.Server) and srv.running
    assert srv.host == "127.0.0.1" and srv.port > 0 and srv.url == f"http://127.0.0.1:{srv.port}"
    assert not port_free(srv.port)
    r = httpx.get(srv.url + "/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = httpx.get(f"{srv.url}/api/v1/tokens/{tid}", headers={"Authorization": f"Bearer {srv.api_key}"})
    assert r.status_code == 200 and r.json()["label"] == "cat"
    assert httpx.get(f"{srv.url}/api/v1/tokens/{tid}").status_code == 401
    port = srv.port
    srv.stop()
    assert not srv.running
    srv.stop()  # twice is harmless
    assert refused(port) and port_free(port)
    wait_for(lambda: os_threads() == before_os, f"OS threads back to {before_os} (now {os_threads()})")
    assert threading.active_count() == before_py


def test_with_block_stops_and_port_is_reusable():
    rt = ng.Runtime()
    with ng.serve(rt) as srv:
        port = srv.port
        assert httpx.get(srv.url + "/health").status_code == 200
    assert not srv.running and port_free(port)
    with ng.serve(rt, port=port) as again:  # the same port at once
        assert again.port == port and httpx.get(again.url + "/health").status_code == 200


def test_runtime_garbage_collected_stops_its_server():
    before = os_threads()
    rt = ng.Runtime()
    srv = ng.serve(rt)
    port = srv.port
    del rt
    gc.collect()
    assert not srv.running and srv.runtime is None
    assert refused(port) and port_free(port)
    wait_for(lambda: os_threads() == before, "server threads gone")


def test_serving_again_replaces_the_earlier_server():
    rt = ng.Runtime()
    first = ng.serve(rt)
    second = ng.serve(rt)
    try:
        assert not first.running and second.running and port_free(first.port)
    finally:
        second.stop()


def test_remote_hosts_need_allow_remote_and_warn():
    rt = ng.Runtime()
    with pytest.raises(PermissionError, match="allow_remote"):
        ng.serve(rt, host="0.0.0.0")
    with pytest.warns(UserWarning, match="TLS"):
        srv = ng.serve(rt, host="0.0.0.0", allow_remote=True)
    srv.stop()


def test_bad_arguments_are_refused():
    rt = ng.Runtime()
    with pytest.raises(ValueError, match="workers"):
        ng.serve(rt, workers=0)
    with pytest.raises(ValueError, match="rate_limits"):
        ng.serve(rt, rate_limits={"user": (0, 1)})
    with pytest.raises(ValueError, match="unknown rate limit"):
        ng.serve(rt, rate_limits={"everyone": (1, 1)})
    with pytest.raises(ValueError, match="trusted_proxies"):
        ng.serve(rt, trusted_proxies=["not an ip"])
    with ng.serve(rt) as srv:  # a port in use
        with pytest.raises(OSError, match="cannot listen"):
            ng.serve(ng.Runtime(), port=srv.port)


def test_reprs_show_the_link_and_never_the_key():
    rt = ng.Runtime()
    rt.tokens.create(cognitive=(0, 0, 0), label="<b>x</b>")
    with ng.serve(rt) as srv:
        text, html = repr(srv), srv._repr_html_()
        assert srv.url in text and "running" in text
        assert f"href='{srv.url}/docs'" in html and "1 tokens" in html and "running" in html
        assert srv.api_key not in text + html
        # the dashboard link logs a browser in once, then lands on the dashboard at /
        link = html.split("<a href='")[1].split("'")[0].replace("&amp;", "&")
        assert link.startswith(f"{srv.url}/login?token=")
        with httpx.Client(follow_redirects=True) as browser:
            page = browser.get(link)
            assert page.status_code == 200 and str(page.url) == f"{srv.url}/"
            assert "text/html" in page.headers["content-type"]
            assert browser.get(f"{srv.url}/api/v1/auth/me").json()["role"] == "admin"
        assert httpx.get(link, follow_redirects=False).status_code >= 400  # spent
        assert srv._repr_html_() != html  # each rendering makes a new link
    assert "stopped" in repr(srv) and "stopped" in srv._repr_html_()


def test_interpreter_exit_stops_the_server_cleanly(tmp_path):
    code = "import neurograph_lab as ng, sys\nrt = ng.Runtime()\nsrv = ng.serve(rt)\nprint(srv.port, flush=True)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert port_free(int(out.stdout.split()[0]))


@pytest.fixture
def shell():
    sh = InteractiveShell.instance()
    sh.user_ns.pop("ng_rt", None)
    sh.run_line_magic("load_ext", "neurograph_lab")
    yield sh
    if "NeuroGraphMagics" in sh.magics_manager.registry:
        sh.run_line_magic("unload_ext", "neurograph_lab")
    InteractiveShell.clear_instance()


def test_ng_serve_magic_starts_shows_and_stops(shell, capsys):
    srv = shell.run_line_magic("ng_serve", "-o srv")
    assert isinstance(srv, ng.Server) and srv.running and shell.user_ns["srv"] is srv
    assert shell.run_line_magic("ng_serve", "") is srv  # shown again, not restarted
    assert httpx.get(srv.url + "/health").status_code == 200
    shell.run_line_magic("ng_serve", "--stop")
    assert not srv.running and port_free(srv.port)
    assert f"stopped the server at {srv.url}" in capsys.readouterr().out
    shell.run_line_magic("ng_serve", "--stop")
    assert "no server is running" in capsys.readouterr().out
    assert shell.run_line_magic("ng_serve", "--help") is None
    assert "--port" in capsys.readouterr().out
    with pytest.raises(UsageError, match="allow-remote"):
        shell.run_line_magic("ng_serve", "--host 0.0.0.0")
    with pytest.raises(UsageError, match="--port"):
        shell.run_line_magic("ng_serve", "--port 70000")


def test_unload_ext_stops_the_servers(shell):
    srv = shell.run_line_magic("ng_serve", "")
    port = srv.port
    shell.run_line_magic("unload_ext", "neurograph_lab")
    assert not srv.running and port_free(port)
