"""`hanoismart demo`: migrate, seed the demo, then run the huey worker and the production server together.

This is what `make run` does after `make setup`. The worker runs in the background and stops when the
server stops (Ctrl-C or SIGTERM stop both). The demo's accounts are printed again just before serving, so
they are the last thing on the screen.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from types import FrameType

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser, OutputWrapper

from hanoismart.common.management.commands.seed import seed_modules
from hanoismart.common.management.commands.serve import add_server_arguments, server_config


class _Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy, to show the seed's output again before serving."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.out.write(text, ending="")
        return self.copy.write(text)

    def isatty(self) -> bool:
        return self.out.isatty()


def _stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _raise_system_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


WORKER_ARGV = [sys.executable, "-m", "hanoismart.cli", "worker"]


def serve_with_worker(*, server: list[str], worker: list[str], env: dict[str, str]) -> int:
    """Run the worker in the background and the server in the foreground; stop the worker with the server.

    Returns the server's exit status (0 after Ctrl-C or SIGTERM, which stop both).
    """
    previous = signal.signal(signal.SIGTERM, _raise_system_exit)
    worker_process = subprocess.Popen(worker, env=env)  # noqa: S603 - our own interpreter and command
    server_process = None
    try:
        server_process = subprocess.Popen(server, env=env)  # noqa: S603 - our own interpreter and granian
        return server_process.wait()
    except KeyboardInterrupt:
        return 0
    except SystemExit as exit_:
        return 0 if exit_.code == 128 + signal.SIGTERM else 1
    finally:
        if server_process is not None:
            _stop(server_process)
        _stop(worker_process)
        signal.signal(signal.SIGTERM, previous)


class Command(BaseCommand):
    help = "Prepare the demo (migrate, seed --demo, collectstatic) and serve it with the background worker."

    def add_arguments(self, parser: CommandParser) -> None:
        add_server_arguments(parser)
        parser.add_argument(
            "--skip-collectstatic", action="store_true", help="make setup collected them already"
        )
        parser.add_argument("--no-serve", action="store_true", help="prepare the demo, then stop")

    def handle(self, *args: object, **options: object) -> None:
        config = server_config(options)
        call_command("migrate", interactive=False, verbosity=0, stdout=self.stdout)
        tee = _Tee(self.stdout)
        call_command("seed", demo=True, stdout=tee)
        if not options["skip_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        if options["no_serve"]:
            return
        self._print_accounts(tee.copy.getvalue())
        self._serve(config.argv(), config.url)

    def _print_accounts(self, seed_output: str) -> None:
        """Each app's demo accounts (its seeds' print_demo_accounts), else the seed's output again."""
        self.stdout.write(self.style.MIGRATE_HEADING("\nHanoiSmart demo accounts"))
        printers = [m.print_demo_accounts for m in seed_modules() if hasattr(m, "print_demo_accounts")]
        for print_demo_accounts in printers:
            print_demo_accounts(stdout=self.stdout)
        if not printers:
            self.stdout.write(seed_output.strip() or "(no app prints demo accounts yet)")

    def _serve(self, argv: list[str], url: str) -> None:
        self.stdout.write(
            self.style.SUCCESS(f"\nServing the demo at {url} (API docs: {url}api/v1/docs).")
            + " Ctrl-C stops the server and the worker."
        )
        self.stdout.flush()
        env = {**os.environ, "HANOISMART_DEMO": os.environ.get("HANOISMART_DEMO", "true")}
        returncode = serve_with_worker(server=argv, worker=WORKER_ARGV, env=env)
        if returncode:
            raise SystemExit(returncode)
