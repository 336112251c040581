"""`manage.py procedures_export --format xlsx|csv PATH`: the catalog as a workbook or a folder of CSVs."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from hanoismart.procedures.spreadsheets import export_csv, export_xlsx


class Command(BaseCommand):
    help = "Export the procedure catalog as an .xlsx workbook or a folder of CSV files (one per table)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
        parser.add_argument("path", type=Path)

    def handle(self, *args: object, path: Path, **options: object) -> None:
        if options["format"] == "csv":
            export_csv(path)
        else:
            export_xlsx(path)
        self.stdout.write(f"Catalog exported to {path}")
