"""The ``neurograph-lab`` command line (also ``python -m neurograph_lab``).

``neurograph-lab serve lab.ngs`` serves a snapshot standalone: the same Rust server as
``ng.serve``, with every API write journaled (fsynced before it is acknowledged) so a crash
loses nothing acknowledged. On start it recovers the snapshot plus the journal; on SIGINT or
SIGTERM it compacts the journal into the snapshot and releases the port.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Optional, Sequence

__all__ = ["main", "build_parser"]

PROG = "neurograph-lab"

_SERVE_HELP = """\
Serve a snapshot over HTTP (REST API v1 under /api/v1, docs at /docs) and WebSocket (/ws).

The snapshot is created when the file does not exist. Every API write is appended to the
journal and fsynced before it is acknowledged; at start the snapshot and the journal are
recovered, and on SIGINT/SIGTERM the journal is compacted into the snapshot.

Auth is on: the first start creates the user "admin" with the password from the
NG_ADMIN_PASSWORD environment variable, or asks for one when run in a terminal. Users, API
keys and the audit log live in the state directory (0700), never in the snapshot.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``neurograph-lab`` (sub-command ``serve``)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="NeuroGraph lab: a Jupyter-first research environment for the NeuroGraph runtime.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    serve = sub.add_parser(
        "serve",
        help="serve a snapshot standalone (REST API v1 + WebSocket, journaled writes)",
        description=_SERVE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("snapshot", metavar="SNAPSHOT", help="the snapshot file (e.g. lab.ngs); created if missing")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument(
        "--port", type=int, default=8765, help="port to listen on; 0 picks a free one (default: %(default)s)"
    )
    serve.add_argument(
        "--journal",
        metavar="DIR",
        help="journal directory (default: SNAPSHOT.journal next to the snapshot)",
    )
    serve.add_argument(
        "--state-dir",
        metavar="DIR",
        help="users, API keys, signing keys and audit log (default: SNAPSHOT.state next to the snapshot)",
    )
    serve.add_argument("--workers", type=int, default=2, help="threads serving requests, 1..64 (default: %(default)s)")
    serve.add_argument(
        "--admin", default="admin", metavar="NAME", help="name of the admin user made on first start (default: admin)"
    )
    serve.add_argument(
        "--print-key",
        action="store_true",
        help="also print this run's admin API key (a secret, valid until the server stops; for scripts)",
    )
    serve.set_defaults(func=_serve)
    return parser


class CliError(Exception):
    """A problem with the command line's input, reported without a traceback."""


def _check_snapshot(path: Path) -> None:
    if path.exists() and not path.is_file():
        raise CliError(f"{path} is not a regular file: the snapshot must be a file (e.g. lab.ngs)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CliError(f"cannot create {path}: the directory {parent} does not exist")


def _admin_password(name: str) -> str:
    pw = os.environ.get("NG_ADMIN_PASSWORD")
    if pw:
        return pw
    if not sys.stdin.isatty():
        raise CliError(
            f"no admin user yet: set NG_ADMIN_PASSWORD (or run in a terminal to be asked) to create {name!r}"
        )
    while True:
        first = getpass.getpass(f"password for the new admin user {name!r}: ")
        if len(first) < 8:
            print("use at least 8 characters", file=sys.stderr)
            continue
        if getpass.getpass("again: ") == first:
            return first
        print("the passwords differ; try again", file=sys.stderr)


def _ensure_admin(core: Any, name: str) -> Optional[str]:
    """Create the admin user on first start; return the one-time login path if the server
    offers one. Refuse to go on when auth is on and no admin can be made."""
    if not hasattr(core, "users"):
        return None  # a server without user management (auth on, only its own key)
    users = core.users()
    names, roles = list(users.get("name", ())), list(users.get("role", ()))
    ephemeral = list(users.get("ephemeral", [False] * len(names)))
    admins = [n for n, r, e in zip(names, roles, ephemeral) if r == "admin" and not e]
    if not admins:
        core.add_user(name, "admin", _admin_password(name))
        admins = [name]
    login = getattr(core, "login_path", None)
    if not callable(login):
        return None
    try:
        return str(login(admins[0]))  # a link that logs in as this admin
    except TypeError:
        return str(login())  # a link for the server's own admin


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _serve(args: argparse.Namespace) -> int:
    from . import _core
    from .runtime import Runtime

    snapshot = Path(args.snapshot)
    _check_snapshot(snapshot)
    journal = Path(args.journal) if args.journal else snapshot.with_name(snapshot.name + ".journal")
    state_dir = Path(args.state_dir) if args.state_dir else snapshot.with_name(snapshot.name + ".state")
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be 0..65535, got {args.port}")

    # Signals first: a stop asked for during recovery is honoured once the server is up.
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    rt = Runtime()
    core_mod: Any = _core  # serve() is typed by the server bindings' stub
    try:
        core = core_mod.serve(
            rt._core,
            args.host,
            args.port,
            state_dir=os.fspath(state_dir),
            journal_dir=os.fspath(journal),
            snapshot_path=os.fspath(snapshot),
            workers=args.workers,
            ephemeral_admin=False,  # a stored admin instead (_ensure_admin)
        )
    except (ValueError, OSError) as e:
        raise CliError(f"cannot serve {snapshot}: {e}") from None
    try:
        login = _ensure_admin(core, args.admin)
        url = _url(core.host, core.port)
        lines = [
            f"{PROG}: serving {snapshot} (stop with Ctrl-C or SIGTERM)",
            f"url: {url}",
            f"api: {url}/api/v1   docs: {url}/docs",
        ]
        if login:
            lines.append(f"login: {url}{login}   (one-time link)")
        lines.append(f"journal: {journal}")
        if args.print_key:
            lines.append(f"api key: {core.admin_key}")
        print("\n".join(lines), flush=True)
        while not stop.wait(1.0):
            if not core.running:
                raise CliError("the server stopped unexpectedly")
    finally:
        print(f"{PROG}: stopping (compacting the journal into {snapshot})", flush=True)
        core.stop()
    print(f"{PROG}: stopped", flush=True)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
