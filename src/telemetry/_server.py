"""The HTTP `/metrics` endpoint (a small threaded server, started only by an explicit call)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Renders the exposition for an Accept header: (body, content type).
Renderer = Callable[[str | None], tuple[bytes, str]]


class _MetricsHandler(BaseHTTPRequestHandler):
    server: _MetricsHTTPServer

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/metrics":
            self.send_error(404, "only /metrics is served here")
            return
        body, content_type = self.server.render(self.headers.get("Accept"))
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # One access-log line per scrape would drown the operator's own logs.
        pass


class _MetricsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], render: Renderer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _MetricsHandler)
        self.render = render


class MetricsServer:
    """A running `/metrics` endpoint. `port` is the bound port (useful with port 0)."""

    def __init__(self, render: Renderer, host: str = "0.0.0.0", port: int = 8080) -> None:
        self._httpd = _MetricsHTTPServer((host, port), render)
        self.host = host
        self.port: int = self._httpd.server_address[1]
        # A short poll interval makes close() quick (it waits for the serving loop to notice).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.1,), name=f"metrics-server-{self.port}", daemon=True
        )
        self._thread.start()
        self._closed = False

    @property
    def url(self) -> str:
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
