"""`hanoismart import KIND FILE`: load reference data from a file. One kind so far:

    hanoismart import boundaries wards.geojson [--source "Sở TN&MT, 2025"]

loads the outlines of units (the IOC's map) from a GeoJSON FeatureCollection keyed by the official unit code
(property ``code``, ``ma``, ``ma_xa`` or ``unit_code``). All or nothing: every problem is listed per feature,
and the command exits 1 without saving anything.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import ApplicationError
from hanoismart.directory.services import boundaries_import

KINDS = ("boundaries",)


class Command(BaseCommand):
    help = "Import reference data from a file: `boundaries FILE.geojson` loads the units' outlines (the map)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS, help="what the file holds")
        parser.add_argument("path", help="the file to read (GeoJSON for boundaries)")
        parser.add_argument("--source", default="", help="where the data comes from (kept with each outline)")

    def handle(self, *args: object, kind: str, path: str, source: str, **options: object) -> None:
        file = Path(path)
        try:
            geojson = json.loads(file.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise CommandError(_("%(path)s: no such file.") % {"path": path}) from None
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(
                _("%(path)s cannot be read: %(error)s") % {"path": path, "error": error}
            ) from None
        except json.JSONDecodeError as error:
            raise CommandError(
                _("%(path)s is not JSON (line %(line)d, column %(column)d: %(error)s).")
                % {"path": path, "line": error.lineno, "column": error.colno, "error": error.msg}
            ) from None
        try:
            with transaction.atomic():  # the outlines and their audit event together
                result = boundaries_import(actor=None, geojson=geojson, source=source or file.name)
                audit_record(
                    actor=None,
                    action="directory.boundaries_import",
                    object_type="directory.unitboundary",
                    details={
                        "file": file.name,
                        "source": source,
                        "created": result.created,
                        "updated": result.updated,
                    },
                )
        except ApplicationError as error:
            for where, problems in error.details.items():
                for problem in problems:
                    self.stderr.write(f"  {where}: {problem}")
            raise CommandError(f"{path}: {error.message}") from None
        self.stdout.write(
            self.style.SUCCESS(
                _("Imported %(count)d outlines (%(created)d new, %(updated)d replaced) from %(path)s.")
                % {
                    "count": result.count,
                    "created": len(result.created),
                    "updated": len(result.updated),
                    "path": path,
                }
            )
        )
