"""`manage.py procedures_import PATH`: load the catalog from a workbook or a folder of CSV files, all or
nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hanoismart.common.errors import InvalidInput
from hanoismart.procedures.spreadsheets import catalog_import


class Command(BaseCommand):
    help = (
        "Import the procedure catalog from an .xlsx workbook or a folder of CSV files; nothing on any error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: object, path: Path, **options: object) -> None:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        try:
            summary = catalog_import(path)
        except InvalidInput as exc:
            lines = [str(exc.message), *(f"  - {p}" for p in exc.details.get("catalog", []))]
            raise CommandError("\n".join(lines)) from exc
        self.stdout.write(
            f"Catalog imported: {summary.procedures_created} created, {summary.procedures_updated} updated, "
            f"{summary.cases} cases"
        )
