"""A moto server over HTTP on loopback, with throttling injected on the HTTP path.

moto has no fault injection, so a small WSGI middleware answers chosen EC2 actions with the
real `RequestLimitExceeded` 503 error body for a given number of attempts; botocore then
retries them as real throttling. (tests/harness has a fuller injector; this one stays small.)
"""

from __future__ import annotations

import io
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from moto.server import ThreadedMotoServer

_EC2_THROTTLE_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
    b"<Message>Request limit exceeded.</Message></Error></Errors>"
    b"<RequestID>5c1e2b9a-throttled-by-test</RequestID></Response>"
)


class ThrottlingMiddleware:
    """Answers the next N requests for an EC2 action with RequestLimitExceeded/503."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._remaining: dict[str, int] = {}
        self.throttled_attempts = 0

    def throttle(self, action: str, attempts: int) -> None:
        with self._lock:
            self._remaining[action] = attempts

    def reset(self) -> None:
        with self._lock:
            self._remaining.clear()
            self.throttled_attempts = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        with self._lock:
            remaining = self._remaining.get(action, 0)
            if remaining > 0:
                self._remaining[action] = remaining - 1
                self.throttled_attempts += 1
        if remaining <= 0:
            return self._app(environ, start_response)
        start_response(
            "503 Service Unavailable", [("Content-Type", "text/xml"), ("Content-Length", str(len(_EC2_THROTTLE_BODY)))]
        )
        return [_EC2_THROTTLE_BODY]


class MotoServer:
    """ThreadedMotoServer on 127.0.0.1 and a free port, its app wrapped by the middleware."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        # The werkzeug server calls `server.app` per request; moto builds its app in start().
        wsgi_server = self._server._server
        self.faults = ThrottlingMiddleware(wsgi_server.app)
        wsgi_server.app = self.faults

    def stop(self) -> None:
        self._server.stop()
