"""`hanoismart seed [--demo]`: run every app's seeds, in INSTALLED_APPS order.

An app takes part by having a ``seeds`` module (``hanoismart/<app>/seeds.py``) with

    def run(*, demo: bool, stdout) -> None: ...
        # Create or update the app's reference data (and, with demo=True, the demo's people and records).
        # Idempotent: a second run changes nothing and is fast. Writes go through the app's services.

    def print_demo_accounts(*, stdout) -> None: ...   # optional
        # Print how to sign in to the demo (read-only); `hanoismart demo` calls it again just before serving.

This module is in ``common``, which imports no other app (import-linter), so the apps are found by name.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from types import ModuleType

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser


def seed_modules() -> Iterator[ModuleType]:
    """Each installed app's ``seeds`` module, in INSTALLED_APPS order (apps depend bottom up)."""
    for app_config in apps.get_app_configs():
        module_name = f"{app_config.name}.seeds"
        if importlib.util.find_spec(module_name) is not None:
            yield importlib.import_module(module_name)


class Command(BaseCommand):
    help = "Create each app's reference data (idempotent); with --demo, also the demo's accounts and records."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--demo", action="store_true", help="also create the demo's people and records")

    def handle(self, *args: object, demo: bool, **options: object) -> None:
        modules = list(seed_modules())
        if not modules:
            self.stdout.write("No app has seeds yet.")
        for module in modules:
            app_name = module.__name__.removesuffix(".seeds")
            if options["verbosity"] >= 1:  # type: ignore[operator]
                self.stdout.write(self.style.MIGRATE_HEADING(f"Seeding {app_name}"))
            module.run(demo=demo, stdout=self.stdout)
