"""The `hanoismart` commands: seed, serve, demo, and the console script's aliases."""

from __future__ import annotations

import importlib.machinery
import io
import sys
import types
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from hanoismart import cli
from hanoismart.common.management.commands import demo, seed


@dataclass
class FakeAppConfig:
    name: str


def _fake_seeds(monkeypatch, name: str, calls: list, *, accounts: str | None = None) -> None:
    """Register ``<name>.seeds`` as an importable module whose run() records how it was called."""
    module = types.ModuleType(f"{name}.seeds")
    module.__spec__ = importlib.machinery.ModuleSpec(module.__name__, loader=None)

    def run(*, demo: bool, stdout) -> None:
        calls.append((name, demo))
        stdout.write(f"{name}: seeded\n")

    module.run = run
    if accounts is not None:
        module.print_demo_accounts = lambda *, stdout: stdout.write(accounts + "\n")
    monkeypatch.setitem(sys.modules, module.__name__, module)


@pytest.fixture
def fake_apps(monkeypatch):
    """Three installed apps; the first and the last have seeds, the middle one has none."""
    calls: list[tuple[str, bool]] = []
    for name in ("fake_bottom", "fake_without_seeds", "fake_top"):
        package = types.ModuleType(name)
        package.__path__ = []  # a package with no submodules on disk
        monkeypatch.setitem(sys.modules, name, package)
    configs = [FakeAppConfig("fake_bottom"), FakeAppConfig("fake_without_seeds"), FakeAppConfig("fake_top")]
    _fake_seeds(monkeypatch, "fake_bottom", calls)
    _fake_seeds(monkeypatch, "fake_top", calls, accounts="resident 001099000001 / hanoi-demo-2026")
    # only the seed command sees the fake apps; migrate and the rest see the real ones
    monkeypatch.setattr(seed, "apps", types.SimpleNamespace(get_app_configs=lambda: configs))
    return calls


def test_seed_runs_each_apps_seeds_in_installed_apps_order(fake_apps):
    out = io.StringIO()

    call_command("seed", stdout=out)

    assert fake_apps == [("fake_bottom", False), ("fake_top", False)]
    assert "fake_bottom: seeded" in out.getvalue()


def test_seed_demo_passes_the_demo_flag(fake_apps):
    call_command("seed", "--demo", stdout=io.StringIO())

    assert fake_apps == [("fake_bottom", True), ("fake_top", True)]


def test_the_real_apps_seeds_are_found_in_installed_apps_order():
    installed = [config.name for config in apps.get_app_configs()]

    found = [module.__name__.removesuffix(".seeds") for module in seed.seed_modules()]

    assert found == sorted(found, key=installed.index)
    assert all(hasattr(module, "run") for module in seed.seed_modules())


def test_demo_without_serving_migrates_seeds_and_prints_nothing_of_the_server(fake_apps, db):
    out = io.StringIO()

    call_command("demo", "--no-serve", "--skip-collectstatic", stdout=out)

    assert fake_apps == [("fake_bottom", True), ("fake_top", True)]
    assert "Serving" not in out.getvalue()


def test_demo_prints_the_accounts_last_then_serves(fake_apps, db, monkeypatch):
    served = []
    monkeypatch.setattr(demo, "serve_with_worker", lambda **kwargs: served.append(kwargs) or 0)
    out = io.StringIO()

    call_command("demo", "--skip-collectstatic", "--port", "8099", stdout=out)

    printed = out.getvalue()
    accounts_at = printed.index("resident 001099000001 / hanoi-demo-2026")
    assert printed.index("fake_top: seeded") < accounts_at < printed.index("http://127.0.0.1:8099/")
    (call,) = served
    assert call["server"][-1] == "hanoismart.wsgi:application"
    assert call["server"][call["server"].index("--port") + 1] == "8099"
    assert call["worker"][-1] == "worker"
    assert call["env"]["HANOISMART_DEMO"] == "true"


def test_the_worker_stops_when_the_server_stops():
    started = []
    real_popen = demo.subprocess.Popen

    def recording_popen(*args, **kwargs):
        process = real_popen(*args, **kwargs)
        started.append(process)
        return process

    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    server_that_fails = [sys.executable, "-c", "raise SystemExit(3)"]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo.subprocess, "Popen", recording_popen)
        returncode = demo.serve_with_worker(server=server_that_fails, worker=sleeper, env={})

    worker, server = started
    assert returncode == 3
    assert server.returncode == 3
    assert worker.returncode is not None  # terminated, not left running


def test_serve_reads_host_port_and_workers_from_the_environment(monkeypatch):
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 - only printed
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("WEB_THREADS", "6")
    out = io.StringIO()

    call_command("serve", "--dry-run", stdout=out)

    argv = out.getvalue().split()
    assert argv[1:3] == ["-m", "granian"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"  # noqa: S104
    assert argv[argv.index("--port") + 1] == "8123"
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--blocking-threads") + 1] == "6"
    assert argv[argv.index("--interface") + 1] == "wsgi"
    assert argv[-1] == "hanoismart.wsgi:application"


def test_serve_options_win_over_the_environment_and_defaults_need_nothing(monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("WEB_THREADS", raising=False)
    out = io.StringIO()

    call_command("serve", "--dry-run", "--port", "8001", stdout=out)

    argv = out.getvalue().split()
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == "8001"
    assert argv[argv.index("--workers") + 1] == "2"
    assert argv[argv.index("--blocking-threads") + 1] == "2"


def test_serve_can_serve_the_asgi_application():
    out = io.StringIO()

    call_command("serve", "--dry-run", "--interface", "asgi", stdout=out)

    argv = out.getvalue().split()
    assert argv[argv.index("--interface") + 1] == "asginl"  # ASGI without lifespan: Django has none
    assert "--blocking-threads" not in argv
    assert argv[-1] == "hanoismart.asgi:application"


def test_serve_refuses_zero_workers(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "0")

    with pytest.raises(ImproperlyConfigured, match="WEB_CONCURRENCY must be at least 1"):
        call_command("serve", "--dry-run", stdout=io.StringIO())


@pytest.mark.parametrize(("typed", "runs"), [("worker", "run_huey"), ("seed", "seed"), ("serve", "serve")])
def test_the_console_script_maps_its_names_to_django_commands(monkeypatch, typed, runs):
    received = []
    monkeypatch.setattr(sys, "argv", ["hanoismart", typed, "--help"])
    monkeypatch.setattr("django.core.management.execute_from_command_line", received.append)

    cli.main()

    assert received == [["hanoismart", runs, "--help"]]


def test_run_huey_is_a_known_command():
    from django.core.management import get_commands

    assert get_commands()["run_huey"] == "huey.contrib.djhuey"
