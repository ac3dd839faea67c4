"""The reference server for ``bench_server.py``: FastAPI + uvicorn in a thread of the process
that holds the runtime, doing what our Rust routes do for GET and POST of one token.

It checks a bearer API key the way ours does (SHA-256 of the secret, constant-time compare),
reads or creates the token through the same ``ng.Runtime`` and answers the same JSON. It is the
"Python server in the kernel" option of the service study, kept here only as a yardstick.
"""

import hashlib
import hmac
import secrets
import threading
import time
from typing import Any

import neurograph_lab as ng


def make_app(rt: ng.Runtime, key: str) -> Any:
    from fastapi import FastAPI, Header, HTTPException  # lazy: bench-only dependency
    from pydantic import BaseModel

    digest = hashlib.sha256(key.encode()).digest()
    app = FastAPI()

    def check(authorization: str | None) -> None:
        token = (authorization or "").removeprefix("Bearer ")
        if not hmac.compare_digest(hashlib.sha256(token.encode()).digest(), digest):
            raise HTTPException(status_code=401, detail="invalid credentials")

    def as_json(t: ng.Token) -> dict[str, Any]:
        return {
            "id": t.id,
            "weight": t.weight,
            "entity": t.entity,
            "label": t.label,
            "timestamp": t.timestamp,
            "field_radius": t.field_radius,
            "field_strength": t.field_strength,
            "coords": {k: list(v) for k, v in t.coords.items() if v is not None},
        }

    class NewToken(BaseModel):
        label: str | None = None
        weight: float = 1.0
        coords: dict[str, list[float]] = {}

    @app.get("/api/v1/tokens/{tid}")
    def get_token(tid: int, authorization: str | None = Header(default=None)) -> dict[str, Any]:
        check(authorization)
        try:
            return as_json(rt.tokens.get(tid))
        except ng.NotFoundError as e:
            raise HTTPException(status_code=404, detail=str(e)) from None

    @app.post("/api/v1/tokens", status_code=201)
    def post_token(body: NewToken, authorization: str | None = Header(default=None)) -> dict[str, Any]:
        check(authorization)
        try:
            tid = rt.tokens.create(
                label=body.label, weight=body.weight, **{k: tuple(v) for k, v in body.coords.items()}
            )
        except ng.ValidationError as e:
            raise HTTPException(status_code=422, detail=str(e)) from None
        return as_json(rt.tokens.get(int(tid)))

    return app


class Reference:
    """uvicorn serving :func:`make_app` on 127.0.0.1 from a daemon thread of this process."""

    def __init__(self, rt: ng.Runtime) -> None:
        import uvicorn  # lazy: bench-only dependency

        self.key = "ref_" + secrets.token_urlsafe(32)
        config = uvicorn.Config(make_app(rt, self.key), host="127.0.0.1", port=0, log_level="error", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="fastapi-reference", daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join()
