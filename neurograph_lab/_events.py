"""The client side of the server's event stream (``/api/v1/ws``): ``Client.events()``.

Protocol (JSON text frames): the server greets with ``{"type": "hello", "epoch", "seq",
"heartbeat_s"}``; the client subscribes with ``{"op": "subscribe", "channels": [...],
"after": M}`` and the server replays the events after ``M`` it still holds (else it sends
``{"type": "resync"}``), then streams new ones: ``{"v": 1, "seq", "time", "type", "origin",
"data"}``, with ``{"type": "heartbeat"}`` in quiet times.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator, Optional

__all__ = ["EventStream"]

#: Frames that keep the stream alive but carry no event.
_QUIET = ("hello", "heartbeat", "subscribed", "pong")


class EventStream:
    """An iterator of the server's events (dicts), oldest first.

    It reconnects by itself when the connection drops (backoff 0.5 s doubling to 30 s, at most
    ``retries`` attempts in a row) and asks for what it missed (``after`` = the last ``seq``
    it saw). When the server cannot replay the gap (too old, or the server restarted: a new
    ``epoch``), the stream yields a ``{"type": "resync", ...}`` event: re-read what you need.

    Attributes
    ----------
    last_seq : int or None
        Sequence number of the last event received.
    epoch : str or None
        The server run's id (changes when the server restarts).
    """

    def __init__(
        self,
        url: str,
        api_key: Optional[str],
        channels: list[str],
        after: Optional[int] = None,
        *,
        retries: int = 8,
        open_timeout: float = 10.0,
    ) -> None:
        self._url = "ws" + url[len("http") :] + "/api/v1/ws" if url.startswith("http") else url
        self._key = api_key
        self.channels = channels
        self.last_seq = after
        self.epoch: Optional[Any] = None
        self.retries = retries
        self.open_timeout = open_timeout
        self._pending: list[dict[str, Any]] = []
        self._ws: Any = None
        self._closed = False
        self._connect()

    def _connect(self) -> None:
        from websockets.sync.client import connect  # lazy: websockets loads with the first stream

        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        # entered by hand: the connection outlives this call (closed by close()/reconnect())
        ws = connect(self._url, additional_headers=headers, open_timeout=self.open_timeout).__enter__()
        try:
            hello = json.loads(ws.recv(timeout=self.open_timeout))
        except BaseException:
            ws.close()
            raise
        epoch = hello.get("epoch")
        if self.epoch is not None and epoch != self.epoch:
            # a new server run: its sequence numbers start over, nothing can be replayed
            self._pending.append({"type": "resync", "reason": "restart", "epoch": epoch})
            self.last_seq = None
        self.epoch = epoch
        msg: dict[str, Any] = {"op": "subscribe", "channels": self.channels}
        if self.last_seq is not None:
            msg["after"] = self.last_seq
        ws.send(json.dumps(msg))
        self._ws = ws

    def _reconnect(self) -> None:
        from websockets.exceptions import WebSocketException  # lazy: websockets loads with the stream

        delay = 0.5
        for attempt in range(self.retries):
            try:
                self._connect()
                return
            except (OSError, WebSocketException, ValueError):
                if attempt == self.retries - 1:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    def reconnect(self) -> None:
        """Drop the connection and open a new one, resuming after ``last_seq``."""
        if self._ws is not None:
            self._ws.close()
        self._reconnect()

    def recv(self, timeout: Optional[float] = None) -> dict[str, Any]:
        """The next event; ``TimeoutError`` when none comes within ``timeout`` seconds."""
        from websockets.exceptions import ConnectionClosed  # lazy: websockets loads with the stream

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._pending:
                return self._pending.pop(0)
            if self._closed:
                raise StopIteration
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                raw = self._ws.recv(timeout=left)
            except ConnectionClosed:
                if self._closed:
                    raise StopIteration from None
                self._reconnect()
                continue
            msg = json.loads(raw)
            kind = msg.get("type")
            if kind in _QUIET:
                # a heartbeat's or the subscription's seq: everything up to it was given or
                # passed over, so a resume from there misses nothing
                if kind in ("heartbeat", "subscribed") and isinstance(msg.get("seq"), int):
                    self.last_seq = max(self.last_seq or 0, msg["seq"])
                continue
            if kind == "resync":
                self.last_seq = msg.get("seq", self.last_seq)
            elif isinstance(msg.get("seq"), int):
                self.last_seq = msg["seq"]
            return dict(msg)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        return self.recv()

    def close(self) -> None:
        """Close the connection; iteration ends."""
        self._closed = True
        if self._ws is not None:
            self._ws.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<EventStream {self._url} channels={self.channels} last_seq={self.last_seq}>"
