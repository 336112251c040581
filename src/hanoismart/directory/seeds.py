"""The directory's part of ``hanoismart seed``: the province's units and agencies (demo or not)."""

from __future__ import annotations

from typing import TextIO

from django.conf import settings

from hanoismart.directory.services import directory_seed


def run(*, demo: bool, stdout: TextIO) -> None:
    """Seed ``settings.PROVINCE_CODE``'s units and agencies: real data, the same with or without ``demo``."""
    result = directory_seed(province_code=settings.PROVINCE_CODE)
    stdout.write(
        f"directory: units {result.units_created} created, {result.units_updated} updated; "
        f"agencies {result.agencies_created} created, {result.agencies_updated} updated\n"
    )
    for note in result.notes:
        stdout.write(f"directory: {note}\n")
