"""`hanoismart serve`: the production web server, granian, with 2 worker processes of 2 threads each.

bench/README.md measured the candidates on this app: granian on the WSGI interface answers the same pages
with about half the CPU of any ASGI server (Django's views are synchronous; under ASGI each request hops to a
thread), so WSGI is the default; ``--interface asgi`` serves hanoismart.asgi:application instead, for when
async views (live updates) arrive. Host, port, workers and threads come from the options, else from the
environment (HOST, PORT, WEB_CONCURRENCY, WEB_THREADS: docs/configuration.md), else the defaults below;
granian's own GRANIAN_* variables tune the rest. The command replaces itself with granian (exec), so a
process manager's signals reach the server directly.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandParser

from hanoismart.common.env import env_int, env_str

TARGETS = {"wsgi": "hanoismart.wsgi:application", "asgi": "hanoismart.asgi:application"}
# The variables this command reads, documented in docs/configuration.md (a test checks the two agree).
SERVER_VARIABLES = ("HOST", "PORT", "WEB_CONCURRENCY", "WEB_THREADS")


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    workers: int
    threads: int
    interface: str = "wsgi"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def argv(self) -> list[str]:
        """The command line that runs granian on the application."""
        if self.interface == "wsgi":
            # Blocking threads bound each worker's concurrent requests, and so its database connections.
            interface = ["--interface", "wsgi", "--blocking-threads", str(self.threads)]
        else:
            # ASGI without lifespan events: Django has none, and granian warns otherwise.
            interface = ["--interface", "asginl"]
        return [
            sys.executable,
            "-m",
            "granian",
            *interface,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-ws",
            TARGETS[self.interface],
        ]


def server_config(options: dict[str, object]) -> ServerConfig:
    """An option wins over the environment, which wins over the defaults."""
    return ServerConfig(
        host=options.get("host") or env_str("HOST", "127.0.0.1"),  # type: ignore[arg-type]
        port=options.get("port") or env_int("PORT", 8000, minimum=1),  # type: ignore[arg-type]
        workers=options.get("workers") or env_int("WEB_CONCURRENCY", 2, minimum=1),  # type: ignore[arg-type]
        threads=options.get("threads") or env_int("WEB_THREADS", 2, minimum=1),  # type: ignore[arg-type]
        interface=options.get("interface") or "wsgi",  # type: ignore[arg-type]
    )


def add_server_arguments(parser: CommandParser) -> None:
    parser.add_argument("--host", help="address to listen on (env HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (env PORT, default 8000)")
    parser.add_argument("--workers", type=int, help="worker processes (env WEB_CONCURRENCY, default 2)")
    parser.add_argument("--threads", type=int, help="threads per worker, WSGI (env WEB_THREADS, default 2)")
    parser.add_argument("--interface", choices=sorted(TARGETS), help="wsgi (default: faster) or asgi")


class Command(BaseCommand):
    help = "Serve HanoiSmart with the production server (granian); see docs/configuration.md."
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_server_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help="print the server's command line and stop")

    def handle(self, *args: object, **options: object) -> None:
        config = server_config(options)
        argv = config.argv()
        if options["dry_run"]:
            self.stdout.write(" ".join(argv))
            return
        self.stdout.write(f"Serving HanoiSmart at {config.url} ({config.interface})")
        self.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter running granian, no shell
