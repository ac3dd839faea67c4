"""``ng.connect(url, api_key=...)``: work against a served runtime from another notebook or a
script, with the same value types as the local runtime (``Token``, ``QueryResult``,
``Status``) and the same exceptions (``ng.ValidationError`` with ``field``/``value``/``limit``,
``ng.NotFoundError``; ``PermissionError`` for 401/403).

Examples
--------
>>> import neurograph_lab as ng
>>> rt = ng.Runtime()
>>> tid = rt.tokens.create(cognitive=(0.1, 0.2, 0.3), label="cat")
>>> with ng.serve(rt) as srv, ng.connect(srv.url, api_key=srv.api_key) as api:
...     api.tokens.get(tid).label
'cat'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Sequence, Union

import httpx
import numpy as np
import pandas as pd

from ._events import EventStream
from ._names import SPACES
from ._values import QueryResult, Status, Token
from .errors import NeuroGraphError, NotFoundError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from .server import NewKey, Server

__all__ = ["connect", "Client", "ApiError"]

API = "/api/v1"
KeyLike = Union[str, "NewKey", None]


class ApiError(NeuroGraphError):
    """An API answer that is not one of the runtime's own errors (412, 428, 429, 503, 5xx).

    Attributes
    ----------
    status : int
        The HTTP status.
    problem : dict
        The RFC 9457 problem document (``type``, ``title``, ``detail`` ...).
    retry_after : float or None
        Seconds to wait before retrying (429, 503).
    """

    def __init__(self, message: str, status: int, problem: Mapping[str, Any], retry_after: Optional[float]) -> None:
        super().__init__(message)
        self.status = status
        self.problem = dict(problem)
        self.retry_after = retry_after


def raise_for_problem(r: httpx.Response) -> None:
    """Raise the exception a failed response stands for (nothing for a 2xx/3xx)."""
    if r.status_code < 400:
        return
    try:
        problem = r.json() if r.content else {}
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    detail = str(problem.get("detail") or problem.get("title") or r.reason_phrase)
    msg = f"{r.request.method} {r.request.url.path}: {r.status_code} {detail}"
    kind = str(problem.get("type", ""))
    err: Exception
    if r.status_code in (401, 403):
        err = PermissionError(msg)
    elif r.status_code == 404:
        err = NotFoundError(msg)
    elif r.status_code == 422 or (r.status_code == 409 and kind.endswith("no-bootstrap")):
        ve = ValidationError(msg)
        for attr in ("action", "row", "field", "value", "limit", "reason"):
            if problem.get(attr) is not None:
                setattr(ve, attr, problem[attr])
        err = ve
    else:
        retry = r.headers.get("retry-after")
        err = ApiError(msg, r.status_code, problem, float(retry) if retry and retry.isdigit() else None)
    setattr(err, "problem", problem)  # noqa: B010 - every class gets the document
    setattr(err, "status", r.status_code)  # noqa: B010
    raise err


class _Labels:
    """What a ``QueryResult`` looks up (labels, coordinates), answered from what the server
    sent and, for the rest, from the server."""

    def __init__(self, client: Client, known: Mapping[int, Token]) -> None:
        self._client = client
        self._known = dict(known)

    def _token(self, i: int) -> Token:
        if i not in self._known:
            self._known[i] = self._client.tokens.get(i)
        return self._known[i]

    def labels_of(self, ids: Any) -> list[Optional[str]]:
        return [self._token(int(i)).label for i in ids]

    def coords_of(self, ids: Any, space: str) -> np.ndarray:
        nan = (float("nan"),) * 3
        return np.array([self._token(int(i)).coords.get(space) or nan for i in ids], dtype=np.float32).reshape(-1, 3)


def token_from_json(d: Mapping[str, Any]) -> Token:
    """A ``Token`` from the API's JSON (spaces it is not placed in are None, as locally)."""
    coords = d.get("coords") or {}
    return Token._from_dict(
        {
            "id": d["id"],
            "label": d.get("label"),
            "entity": d.get("entity", "unknown"),
            "weight": d.get("weight", 0.0),
            "field_radius": d.get("field_radius", 0.0),
            "field_strength": d.get("field_strength", 0.0),
            "timestamp": d.get("timestamp", 0),
            "flags": d.get("flags", ()),
            "user_flags": d.get("user_flags", 0),
            "domain": d.get("domain", 0),
            "coords": {s: coords.get(s) for s in SPACES},
        }
    )


def _items(page: Any) -> tuple[list[Any], Optional[int]]:
    """The rows and the next cursor of a keyset page."""
    if isinstance(page, list):
        return page, None
    rows = page.get("items", page.get("tokens", page.get("data", [])))
    nxt = page.get("next")
    return list(rows), None if nxt is None else int(nxt)


class RemoteTokens:
    """``client.tokens``: read and write tokens of the served runtime."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def get(self, id: int) -> Token:
        """One token (``ng.NotFoundError`` for an unknown id)."""
        return token_from_json(self._c._get(f"/tokens/{int(id)}"))

    __getitem__ = get

    def create(
        self,
        *,
        weight: float = 1.0,
        entity: Optional[str] = None,
        label: Optional[str] = None,
        id: Optional[int] = None,
        field_radius: float = 0.0,
        field_strength: float = 0.0,
        **spaces: Optional[Sequence[float]],
    ) -> int:
        """Create one token as ``rt.tokens.create`` does (spaces as keywords); returns its id."""
        body: dict[str, Any] = {"weight": weight, "field_radius": field_radius, "field_strength": field_strength}
        body["coords"] = {k: [float(c) for c in v] for k, v in spaces.items() if v is not None}
        for k, v in (("entity", entity), ("label", label), ("id", id)):
            if v is not None:
                body[k] = v
        return int(self._c._post("/tokens", body)["id"])

    def create_many(
        self,
        coords: Any,
        *,
        labels: Optional[Sequence[Optional[str]]] = None,
        weights: Any = None,
        entities: Union[str, Sequence[str], None] = None,
    ) -> np.ndarray:
        """Create tokens from an ``(N, 8, 3)`` array in one request (all or none, as
        ``rt.tokens.create_many``); returns their ids (``uint32``)."""
        arr = np.asarray(coords, dtype=np.float64)
        if arr.ndim != 3 or arr.shape[1:] != (8, 3):
            raise ValidationError(f"coords must have shape (N, 8, 3), got {arr.shape}")
        n = arr.shape[0]
        w = np.broadcast_to(np.asarray(1.0 if weights is None else weights, dtype=np.float64), (n,))
        ents = [entities] * n if entities is None or isinstance(entities, str) else list(entities)
        rows = []
        for i in range(n):
            row: dict[str, Any] = {"coords": dict(zip(SPACES, arr[i].tolist())), "weight": float(w[i])}
            if labels is not None and labels[i] is not None:
                row["label"] = labels[i]
            if ents[i] is not None:
                row["entity"] = ents[i]
            rows.append(row)
        return np.asarray(self._c._post("/tokens/batch", {"tokens": rows})["ids"], dtype=np.uint32)

    def delete(self, id: int) -> None:
        """Delete a token (and its connections)."""
        self._c._request("DELETE", f"/tokens/{int(id)}")

    def pages(self, page_size: int = 1000, after: Optional[int] = None) -> Iterator[list[Token]]:
        """The tokens page by page, by id (keyset: a page is never skipped or repeated when
        tokens are created or deleted meanwhile)."""
        cursor = after
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if cursor is not None:
                params["after"] = cursor
            rows, cursor = _items(self._c._get("/tokens", params=params))
            if rows:
                yield [token_from_json(r) for r in rows]
            if cursor is None or not rows:
                return

    def list(self, limit: Optional[int] = None, *, after: Optional[int] = None, page_size: int = 1000) -> pd.DataFrame:
        """Tokens as a DataFrame like ``rt.tokens.to_pandas()`` (index: id), fetched in pages
        of ``page_size``; ``limit``: at most this many; ``after``: ids above this one."""
        frames: list[pd.Series] = []
        for page in self.pages(page_size if limit is None else min(page_size, max(limit, 1)), after):
            frames.extend(t.to_pandas() for t in page)
            if limit is not None and len(frames) >= limit:
                frames = frames[:limit]
                break
        if not frames:
            return pd.DataFrame(columns=["label", "entity", "weight"]).rename_axis("id")
        return pd.DataFrame(frames).rename_axis("id")

    def count(self) -> int:
        """How many tokens the runtime holds."""
        return int(self._c._get("/tokens/count")["count"])

    def __len__(self) -> int:
        return self.count()


class RemoteCDNA:
    """``client.cdna``: the served runtime's CDNA. Reads remember its ETag (the checksum), and
    a change sends it as ``If-Match``: a CDNA changed meanwhile (in the notebook or by another
    client) raises ``ApiError`` with status 412 instead of being overwritten."""

    def __init__(self, client: Client) -> None:
        self._c = client
        self.etag: Optional[str] = None

    def get(self) -> dict[str, Any]:
        """The CDNA document (profile, scales, fields, flags, checksum)."""
        r = self._c._request("GET", "/cdna")
        self.etag = r.headers.get("etag")
        data: dict[str, Any] = r.json()
        return data

    def update(self, fields: Mapping[str, Any], *, etag: Optional[str] = None) -> dict[str, Any]:
        """Change CDNA fields through the Guardian (admin), if the CDNA is still the one read."""
        tag = etag or self.etag
        if tag is None:
            self.get()
            tag = self.etag
        r = self._c._request("PATCH", "/cdna", json={"fields": dict(fields)}, headers={"If-Match": tag or ""})
        self.etag = r.headers.get("etag")
        data: dict[str, Any] = r.json() if r.content else {}
        return data


class Client:
    """A served runtime over HTTP (see ``ng.connect``). Close it (or use ``with``) to free
    its connections."""

    def __init__(self, url: str, api_key: KeyLike = None, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._key = None if api_key is None else str(api_key)
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        self._http = httpx.Client(base_url=self.url + API, headers=headers, timeout=timeout)
        self.tokens = RemoteTokens(self)
        self.cdna = RemoteCDNA(self)

    # -- transport --
    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        r = self._http.request(method, path, **kw)
        raise_for_problem(r)
        return r

    def _get(self, path: str, **kw: Any) -> Any:
        return self._request("GET", path, **kw).json()

    def _post(self, path: str, body: Any) -> Any:
        r = self._request("POST", path, json=body)
        return r.json() if r.content else {}

    # -- calls --
    def status(self) -> Status:
        """Counts, CDNA profile and Guardian figures, as ``rt.status()`` (the memory figures
        stay with the server: ``memory`` is empty)."""
        d = self._get("/status")
        return Status(
            tokens=int(d["tokens"]),
            connections=int(d["connections"]),
            labels=int(d["labels"]),
            profile=str(self._get("/cdna")["profile"]),
            cdna_revision=int(d["cdna_revision"]),
            events=int(d["events_total"]),
            rejections=int(d["rejections_total"]),
            memory={},
            resident_bytes=None,
        )

    def _result(
        self, ids: Sequence[int], values: Sequence[float], space: str, what: str, metric: str, labels: Any = None
    ) -> QueryResult:
        res = QueryResult(
            _Labels(self, {}),  # type: ignore[arg-type]  # labels and coordinates come from the server
            np.asarray(ids, dtype=np.uint32),
            np.asarray(values, dtype=np.float32),
            space,
            what,
            metric=metric,
        )
        if labels is not None:
            res._labels = list(labels)
        return res

    def neighbors(self, x: Union[int, Sequence[float]], k: int = 10, space: str = "cognitive") -> QueryResult:
        """The k nearest tokens to a token id (left out) or an ``(x, y, z)`` point, as
        ``rt.grid.neighbors``."""
        body: dict[str, Any] = {"k": int(k), "space": space}
        if isinstance(x, (int, np.integer)):
            body["token"] = int(x)
            what = f"{k} nearest to token {int(x)}"
        else:
            body["point"] = [float(c) for c in x]
            what = f"{k} nearest to ({', '.join(f'{c:g}' for c in body['point'])})"
        hits = self._post("/grid/neighbors", body)
        return self._result(hits["ids"], hits["distances"], space, what, "distance")

    def query(self, text: str, k: int = 10) -> QueryResult:
        """Words most similar to ``text`` (needs a bootstrap), as ``rt.query``."""
        hits = self._post("/query", {"text": text, "k": int(k)})
        return self._result(
            hits["ids"], hits["scores"], "embedding", f"{k} most similar to {text!r}", "score", hits["words"]
        )

    def events(
        self, channels: Sequence[str] = ("tokens", "connections", "cdna"), after: Optional[int] = None
    ) -> EventStream:
        """Live events over the WebSocket: an iterator of dicts (``seq``, ``type`` such as
        ``token.created``, ``origin``, ``data``). It resumes after the last event it saw when
        the connection drops; a gap too old to replay arrives as a ``resync`` event."""
        return EventStream(self.url, self._key, list(channels), after)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<neurograph_lab Client {self.url}>"


def connect(url: Union[str, Server], api_key: KeyLike = None, *, timeout: float = 30.0) -> Client:
    """A client of a served runtime.

    Parameters
    ----------
    url : str or Server
        The server's base URL (``srv.url``), or the ``Server`` itself (then its admin key is
        used unless ``api_key`` is given).
    api_key : str or NewKey, optional
        An API key (``srv.keys.create(...)``; sent as ``Authorization: Bearer``).
    timeout : float
        Seconds to wait for each answer.
    """
    if not isinstance(url, str):
        return Client(url.url, api_key if api_key is not None else url.api_key, timeout=timeout)
    return Client(url, api_key, timeout=timeout)
