"""``ng.serve(rt)``: serve a runtime over HTTP and WebSocket while the notebook keeps working.

The server is Rust (axum + tokio) on threads of its own inside this process, sharing the
runtime's store: what a cell writes, the API sees at once, and the other way round. No request
takes the GIL, so a busy cell does not slow the API down (nor the API the cell).

Examples
--------
>>> import neurograph_lab as ng
>>> rt = ng.Runtime()
>>> with ng.serve(rt) as srv:
...     srv.url.startswith("http://127.0.0.1:")
True
>>> srv.running
False
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import re
import warnings
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

import pandas as pd

from . import _core
from ._html import esc, kv_table
from .errors import ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Runtime

__all__ = ["serve", "Server", "NewKey", "ROLES"]

#: Roles, lowest first: readonly (reads, WebSocket), user (+ token/connection writes,
#: queries), admin (+ CDNA, users, keys, audit, bootstrap, save).
ROLES = ("readonly", "user", "admin")

Expires = Union[None, int, float, str, _dt.timedelta, _dt.datetime]
PathLike = Union[str, "os.PathLike[str]"]

# The running server of each runtime (one per runtime: serving it again replaces it).
_SERVED: weakref.WeakKeyDictionary[Any, Server] = weakref.WeakKeyDictionary()
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def expires_in_seconds(expires: Expires) -> Optional[float]:
    """Seconds from now until ``expires``: None (never), seconds, a ``timedelta``, an aware or
    naive-UTC ``datetime``, or a text such as ``"30m"``, ``"12h"``, ``"7d"``.

    >>> expires_in_seconds("2h"), expires_in_seconds(None), expires_in_seconds(90)
    (7200.0, None, 90.0)
    """
    if expires is None:
        return None
    if isinstance(expires, _dt.timedelta):
        seconds = expires.total_seconds()
    elif isinstance(expires, _dt.datetime):
        when = expires if expires.tzinfo else expires.replace(tzinfo=_dt.timezone.utc)
        seconds = (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds()
    elif isinstance(expires, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", expires)
        if m is None:
            raise ValueError(
                f"expires: use a number of seconds, a timedelta or e.g. '30m', '12h', '7d'; got {expires!r}"
            )
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    elif isinstance(expires, (int, float)) and not isinstance(expires, bool):
        seconds = float(expires)
    else:
        raise TypeError(f"expires: a number of seconds, a timedelta, a datetime or a text like '12h', not {expires!r}")
    if not seconds > 0:
        raise ValueError(f"expires must be in the future, got {expires!r}")
    return seconds


def _frame(columns: Mapping[str, Any], index: Optional[str] = None, times: tuple[str, ...] = ()) -> pd.DataFrame:
    """A DataFrame of the core's columns; ``times`` columns (Unix seconds, None = never) become
    UTC datetimes."""
    df = pd.DataFrame(dict(columns))
    for col in times:
        if col in df:
            df[col] = pd.to_datetime(df[col].astype("float64"), unit="s", utc=True)
    if index and index in df:
        df = df.set_index(index)
    return df


@dataclass(frozen=True)
class NewKey:
    """A freshly created API key. ``secret`` is shown this once: the server keeps only its
    SHA-256. ``str(key)`` is the secret, so ``ng.connect(url, api_key=key)`` works."""

    id: str
    secret: str
    role: str
    user: str
    expires: Optional[_dt.datetime]

    def __str__(self) -> str:
        return self.secret

    def __repr__(self) -> str:
        when = "never" if self.expires is None else self.expires.isoformat(timespec="seconds")
        return f"NewKey(id={self.id!r}, role={self.role!r}, user={self.user!r}, expires={when}, secret={self.secret!r})"


class Users:
    """``srv.users``: the server's users (admin work; kept in the server's state directory).

    A user without a password cannot log in with one; give them API keys
    (``srv.keys.create(role, user=name)``).
    """

    __slots__ = ("_srv",)

    def __init__(self, srv: _core.Server) -> None:
        self._srv = srv

    def add(self, name: str, role: str = "user", password: Optional[str] = None) -> None:
        """Add a user with ``role`` (readonly, user or admin) and an optional password
        (hashed with argon2id)."""
        self._srv.add_user(name, _role(role), password)

    def remove(self, name: str) -> None:
        """Remove a user; their API keys and sessions stop working."""
        self._srv.remove_user(name)

    def set_role(self, name: str, role: str) -> None:
        """Change a user's role (their keys are capped by it)."""
        self._srv.set_role(name, _role(role))

    def list(self) -> pd.DataFrame:
        """One row per user: name (index), role, has_password, disabled, created, ephemeral (the
        notebook's own admin, which lives only as long as the server)."""
        return _frame(self._srv.users(), index="name", times=("created",))

    def __len__(self) -> int:
        return len(self._srv.users().get("name", ()))

    def __repr__(self) -> str:
        return repr(self.list())

    def _repr_html_(self) -> str:
        html: str = self.list()._repr_html_()  # type: ignore[operator]
        return html


class Keys:
    """``srv.keys``: API keys. A key's secret is shown once, when it is created; the server
    stores only its SHA-256."""

    __slots__ = ("_srv",)

    def __init__(self, srv: _core.Server) -> None:
        self._srv = srv

    def create(self, role: str = "readonly", expires: Expires = None, *, user: Optional[str] = None) -> NewKey:
        """Create an API key with ``role`` for ``user`` (default: the server's admin).

        Parameters
        ----------
        role : {"readonly", "user", "admin"}
            At most the owner's role.
        expires : None, seconds, timedelta, datetime or text like ``"12h"``, ``"7d"``
            When the key stops working; None: never.
        user : str, optional
            The key's owner (``srv.users.add`` first).

        Returns
        -------
        NewKey
            ``.secret`` (shown this once), ``.id`` (for ``revoke``), role, user, expiry.
        """
        d = self._srv.create_key(_role(role), expires_in_seconds(expires), user)
        exp = d.get("expires")
        return NewKey(
            id=str(d["id"]),
            secret=str(d["key"]),
            role=str(d["role"]),
            user=str(d["owner"]),
            expires=None if exp is None else _dt.datetime.fromtimestamp(float(exp), _dt.timezone.utc),
        )

    def revoke(self, key: Union[str, NewKey]) -> None:
        """Revoke a key by its id (or the ``NewKey``); it stops working at once."""
        self._srv.revoke_key(key.id if isinstance(key, NewKey) else str(key))

    def list(self) -> pd.DataFrame:
        """One row per key: id (index), owner, role, created, expires, last used.
        Secrets are never listed (the server does not have them)."""
        return _frame(self._srv.keys(), index="id", times=("created", "expires", "last_used"))

    def __len__(self) -> int:
        return len(self._srv.keys().get("id", ()))

    def __repr__(self) -> str:
        return repr(self.list())

    def _repr_html_(self) -> str:
        html: str = self.list()._repr_html_()  # type: ignore[operator]
        return html


def _stop(core: _core.Server) -> None:
    core.stop()


class Server:
    """A running server on a runtime (see ``ng.serve``).

    Attributes
    ----------
    url : str
        Base URL, e.g. ``http://127.0.0.1:8765``; the API is under ``/api/v1``, its OpenAPI
        document at ``/api/v1/openapi.json`` and the docs page at ``/docs``.
    api_key : str
        The key of this server's ephemeral admin, for scripts and ``ng.connect`` (a secret: it
        dies with the server and is never written to disk).
    users, keys : Users, Keys
        User and API-key management.

    The server stops with ``stop()``, at the end of a ``with`` block, when the runtime is
    garbage collected, on ``%unload_ext neurograph_lab`` and when the kernel exits.
    """

    def __init__(self, core: _core.Server, rt: Runtime) -> None:
        self._core = core
        self._rt = weakref.ref(rt)
        # Runs core.stop() once: on stop(), when rt is collected, or at interpreter exit.
        self._finalizer = weakref.finalize(rt, _stop, core)
        self.users = Users(core)
        self.keys = Keys(core)

    # -- facts --
    @property
    def host(self) -> str:
        """The address the server listens on."""
        return self._core.host

    @property
    def port(self) -> int:
        """The port the server listens on (the one picked when ``port=0``)."""
        return self._core.port

    @property
    def url(self) -> str:
        """Base URL of the server."""
        host = self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def api_key(self) -> str:
        """The ephemeral admin's API key (a secret; valid while this server runs)."""
        return self._core.admin_key

    @property
    def login_url(self) -> str:
        """A fresh one-time login link for a browser; opening it exchanges it for a session
        cookie (HttpOnly, SameSite=Strict). Each access makes a new link; a link works once
        and expires after a few minutes."""
        return self.url + self._core.login_path()

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._finalizer.alive and self._core.running

    @property
    def runtime(self) -> Optional[Runtime]:
        """The runtime served (None once it is gone)."""
        return self._rt()

    def audit(self, last: Optional[int] = None) -> pd.DataFrame:
        """The audit log held in memory, oldest first: seq, time, principal, role, key_id, ip,
        method, route (the template), ids, count, status, reason (the Guardian's, for a
        refusal), origin, request_id, duration_ms. ``last``: only the newest ``last`` entries.
        The full log is JSON lines in the state directory's ``audit/``."""
        return _frame(self._core.audit(last), times=("time",))

    # -- lifecycle --
    def stop(self) -> None:
        """Stop serving: in-flight requests finish, the port is released and the server's
        threads are joined. Calling it again does nothing."""
        self._finalizer()
        rt = self._rt()
        if rt is not None and _SERVED.get(rt) is self:
            del _SERVED[rt]

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- reprs --
    def _rows(self) -> list[tuple[str, Any]]:
        rt = self._rt()
        rows: list[tuple[str, Any]] = [("url", self.url), ("status", "running" if self.running else "stopped")]
        if rt is not None:
            rows.append(("runtime", f"{len(rt.tokens):,} tokens, {len(rt.connections):,} connections"))
        if self.running:
            try:
                rows.append(("access", f"{len(self.users):,} users, {len(self.keys):,} API keys"))
            except AttributeError:  # pragma: no cover - a core built without user management
                pass
        return rows

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<neurograph_lab Server {self.url} ({state})>"

    def _repr_html_(self) -> str:
        """The facts, a one-time link that opens the dashboard logged in, and the API docs.

        Each rendering makes a fresh login link (it works once and expires after a few
        minutes), so a saved notebook holds no usable credential for long."""
        rows = self._rows()
        if not self.running:
            return kv_table("NeuroGraph server", rows, "")
        style = "style='color:var(--jp-content-link-color,#1a73e8)'"
        login = self.login_url
        rows.insert(1, ("dashboard", "@@dashboard-link@@"))
        rows.insert(2, ("API docs", "@@docs-link@@"))
        note = "the dashboard link logs in once (srv.login_url makes another); srv.api_key for scripts"
        table = kv_table("NeuroGraph server", rows, note)
        dash = f"<a href='{esc(login)}' target='_blank' rel='noopener' {style}>open the dashboard</a> (one-time link)"
        docs = f"<a href='{esc(self.url)}/docs' target='_blank' rel='noopener' {style}>{esc(self.url)}/docs</a>"
        return table.replace(esc("@@dashboard-link@@"), dash, 1).replace(esc("@@docs-link@@"), docs, 1)


def serve(
    rt: Runtime,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    state_dir: Optional[PathLike] = None,
    journal_dir: Optional[PathLike] = None,
    workers: int = 2,
    allow_remote: bool = False,
    rate_limits: Optional[Mapping[str, Any]] = None,
    allowed_hosts: Optional[list[str]] = None,
    allowed_origins: Optional[list[str]] = None,
    trusted_proxies: Optional[list[str]] = None,
    heartbeat: Optional[float] = None,
) -> Server:
    """Serve ``rt`` over HTTP (REST API v1) and WebSocket, from threads of this process.

    Parameters
    ----------
    rt : Runtime
        The runtime to serve; the server shares its store (no copy).
    host : str
        Address to listen on; 127.0.0.1 by default. Any other than a loopback address needs
        ``allow_remote=True`` and warns: put TLS (a proxy) in front.
    port : int
        0 picks a free port.
    state_dir : path, optional
        Where users, API keys, signing keys and the audit log live (a 0700 directory, files
        0600); by default a temporary directory removed when the server stops. Keep it out of
        shared folders: the snapshot holds no secret, this directory does.
    journal_dir : path, optional
        Journal every API write there before acknowledging it (see the CLI's ``--journal``).
    workers : int
        Threads serving requests (1..64).
    allow_remote : bool
        Allow a non-loopback ``host``.
    rate_limits : mapping, optional
        Token buckets ``{"readonly"|"user"|"admin"|"per_ip": (per_second, burst),
        "login_per_minute": n}``; the rest keep their defaults.
    allowed_hosts, allowed_origins : list of str, optional
        Extra names accepted in the ``Host`` header; origins allowed for CORS and WebSocket.
    trusted_proxies : list of str, optional
        Peer IPs whose ``X-Forwarded-For`` is believed.
    heartbeat : float, optional
        Seconds between the event stream's heartbeats (default 15).

    Returns
    -------
    Server
        ``.url``, ``.api_key``, ``.login_url``, ``.users``, ``.keys``, ``.audit()``, ``.stop()``.

    Serving a runtime that is already served stops the earlier server first, so re-running a
    cell does what it says.

    Examples
    --------
    >>> import neurograph_lab as ng
    >>> rt = ng.Runtime()
    >>> srv = ng.serve(rt)
    >>> key = srv.keys.create("readonly", expires="1h")
    >>> key.role, key.user
    ('readonly', 'notebook')
    >>> srv.stop()
    """
    if not _loopback(host):
        if not allow_remote:
            raise PermissionError(
                f"host {host!r} is reachable from other machines; pass allow_remote=True to serve it "
                "(auth stays on; put TLS in front)"
            )
        warnings.warn(
            f"serving on {host!r}: other machines can reach this runtime; the server speaks plain HTTP, "
            "so put a TLS proxy in front of it",
            UserWarning,
            stacklevel=2,
        )
    earlier = _SERVED.get(rt)
    if earlier is not None:
        earlier.stop()
    options: dict[str, Any] = {}
    if rate_limits is not None:
        options["rate_limits"] = dict(rate_limits)
    if allowed_hosts is not None:
        options["allowed_hosts"] = list(allowed_hosts)
    if allowed_origins is not None:
        options["allowed_origins"] = list(allowed_origins)
    if trusted_proxies is not None:
        options["trusted_proxies"] = list(trusted_proxies)
    if heartbeat is not None:
        options["heartbeat"] = float(heartbeat)
    core = _core.serve(
        rt._core,
        host,
        port,
        state_dir=None if state_dir is None else os.fspath(state_dir),
        journal_dir=None if journal_dir is None else os.fspath(journal_dir),
        workers=workers,
        **options,
    )
    srv = Server(core, rt)
    _SERVED[rt] = srv
    return srv


def served(rt: Runtime) -> Optional[Server]:
    """The running server of ``rt``, or None."""
    srv = _SERVED.get(rt)
    return srv if srv is not None and srv.running else None


def stop_all() -> int:
    """Stop every server started in this process (``%unload_ext``); returns how many."""
    servers = list(_SERVED.values())
    for srv in servers:
        srv.stop()
    return len(servers)
