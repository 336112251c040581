"""Fixtures for the outbox: the test message templates and a real local HTTP gateway for SMS/Zalo."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def message_templates(settings):
    """Make tests/notifications/templates/messages/notifications.test/ findable, as an app's would be."""
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [Path(__file__).parent / "templates"]}]


@dataclass
class Gateway:
    """What the fake gateway received, and the statuses it answers with (200 once the list runs out)."""

    url: str
    received: list[dict] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def answer(self) -> int:
        return self.statuses.pop(0) if self.statuses else 200


class _GatewayHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        gateway: Gateway = self.server.gateway  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        gateway.received.append(
            {
                "path": self.path,
                "content_type": self.headers["Content-Type"],
                "idempotency_key": self.headers["Idempotency-Key"],
                "json": json.loads(body),
            }
        )
        self.send_response(gateway.answer())
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
        return None


@pytest.fixture
def gateway(settings):
    """An HTTP server on 127.0.0.1 (random port) in a thread; SMS and Zalo are configured to POST to it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GatewayHandler)
    base = f"http://127.0.0.1:{server.server_port}"
    server.gateway = Gateway(url=base)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.SMS_GATEWAY = "webhook"
    settings.SMS_WEBHOOK_URL = f"{base}/sms"
    settings.ZALO_WEBHOOK_URL = f"{base}/zalo"
    yield server.gateway  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()
    thread.join()
