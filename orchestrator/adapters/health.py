"""`/healthz`, `/readyz` and Prometheus `/metrics` on a service's health port.

One small threaded HTTP server for every long-running service (the actors and the
projector), so Kubernetes probes and scrapers see the same three routes everywhere.
Readiness is a callable the service owns: it answers (ready, detail).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Readiness = Callable[[], tuple[bool, str]]


def serve(port: int, registry: CollectorRegistry, ready: Readiness,
          host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Start serving on `port` (0 picks one) in a daemon thread; returns the server."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, "application/json", json.dumps({"status": "ok"}).encode())
            elif path == "/readyz":
                ok, detail = ready()
                body = json.dumps({"status": "ready" if ok else "not ready", "detail": detail})
                self._send(200 if ok else 503, "application/json", body.encode())
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            else:
                self._send(404, "application/json", b'{"detail": "not found"}')

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # probes every few seconds: quiet
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="health").start()
    return server
