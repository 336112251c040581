"""`hanoismart serve`: the production web server (granian) on the ASGI application.

The choice of granian is measured in bench/README.md. Host, port and the number of worker processes come
from the options, else from the environment (HOST, PORT, WEB_CONCURRENCY: docs/configuration.md), else the
defaults below; granian's own GRANIAN_* variables tune the rest. The command replaces itself with granian
(exec), so a process manager's signals reach the server directly.
"""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandParser

from hanoismart.common.env import env_int, env_str

ASGI_TARGET = "hanoismart.asgi:application"
# The variables this command reads, documented in docs/configuration.md (a test checks the two agree).
SERVER_VARIABLES = ("HOST", "PORT", "WEB_CONCURRENCY")


def server_address(*, host: str | None, port: int | None, workers: int | None) -> tuple[str, int, int]:
    """Resolve host, port and workers: an option wins over the environment, which wins over defaults."""
    return (
        host or env_str("HOST", "127.0.0.1"),
        port or env_int("PORT", 8000, minimum=1),
        workers or env_int("WEB_CONCURRENCY", 2, minimum=1),
    )


def server_argv(*, host: str, port: int, workers: int) -> list[str]:
    """The command line that runs granian on the ASGI application."""
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asginl",  # ASGI without lifespan events: Django has none, and granian warns otherwise
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-ws",
        ASGI_TARGET,
    ]


def add_server_arguments(parser: CommandParser) -> None:
    parser.add_argument("--host", help="address to listen on (env HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (env PORT, default 8000)")
    parser.add_argument("--workers", type=int, help="worker processes (env WEB_CONCURRENCY, default 2)")


class Command(BaseCommand):
    help = "Serve HanoiSmart with the production server (granian, ASGI); see docs/configuration.md."
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_server_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help="print the server's command line and stop")

    def handle(self, *args: object, **options: object) -> None:
        host, port, workers = server_address(
            host=options["host"],  # type: ignore[arg-type]
            port=options["port"],  # type: ignore[arg-type]
            workers=options["workers"],  # type: ignore[arg-type]
        )
        argv = server_argv(host=host, port=port, workers=workers)
        if options["dry_run"]:
            self.stdout.write(" ".join(argv))
            return
        self.stdout.write(f"Serving HanoiSmart at http://{host}:{port}/ with {workers} worker(s)")
        self.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter running granian, no shell
