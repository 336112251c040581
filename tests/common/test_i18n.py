"""No untranslated string on a shipped page: the Vietnamese catalog is complete and up to date.

The catalog is checked with GNU gettext's own tools (msgattrib, msgfmt), and "up to date" is checked by
running the same extraction as ``make messages`` on a throwaway copy of the source: a string added to a
template or a Python file without a Vietnamese translation makes these tests fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from django.core.management import call_command

import hanoismart

SOURCE_DIR = Path(hanoismart.__file__).resolve().parent
CATALOG = SOURCE_DIR / "locale" / "vi" / "LC_MESSAGES" / "django.po"
MISSING_CATALOG = (
    f"The Vietnamese catalog {CATALOG.relative_to(SOURCE_DIR.parent.parent)} does not exist: "
    "run `make messages` and translate every entry."
)


def _gettext_tool(*args: str) -> str:
    """Run a GNU gettext program and return what it printed; fail the test if it refuses the catalog."""
    completed = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603 - fixed tools
    assert completed.returncode == 0, f"{args[0]} failed:\n{completed.stderr}"
    return completed.stdout


def _msgids(po_text: str) -> list[str]:
    """The msgids (with their context, if any) of the entries in a PO text, for the failure message."""
    entries = []
    for block in re.split(r"\n\s*\n", po_text.strip()):
        context = re.search(r'^msgctxt "(.*)"', block, re.MULTILINE)
        msgid = re.search(r'^msgid "(.*)"((?:\n".*")*)', block, re.MULTILINE)
        if not msgid:
            continue
        text = msgid.group(1) + "".join(re.findall(r'^"(.*)"$', msgid.group(2), re.MULTILINE))
        if text or context:
            entries.append(f"[{context.group(1)}] {text}" if context else text)
    return entries


def _untranslated_and_fuzzy(catalog: Path) -> tuple[list[str], list[str]]:
    untranslated = _msgids(_gettext_tool("msgattrib", "--untranslated", "--no-obsolete", str(catalog)))
    fuzzy = _msgids(_gettext_tool("msgattrib", "--only-fuzzy", "--no-obsolete", str(catalog)))
    return untranslated, fuzzy


def _listing(entries: list[str], limit: int = 30) -> str:
    shown = "\n".join(f"  - {entry}" for entry in entries[:limit])
    more = f"\n  … and {len(entries) - limit} more" if len(entries) > limit else ""
    return shown + more


def test_the_vietnamese_catalog_exists():
    assert CATALOG.is_file(), MISSING_CATALOG


def test_every_entry_has_a_vietnamese_translation_that_is_not_fuzzy():
    assert CATALOG.is_file(), MISSING_CATALOG

    untranslated, fuzzy = _untranslated_and_fuzzy(CATALOG)

    assert not untranslated, f"{len(untranslated)} entries have no Vietnamese translation:\n" + _listing(
        untranslated
    )
    assert not fuzzy, f"{len(fuzzy)} entries are marked fuzzy (check them, then drop the flag):\n" + _listing(
        fuzzy
    )


def test_the_catalog_compiles_with_matching_placeholders():
    assert CATALOG.is_file(), MISSING_CATALOG

    # --check verifies the header and that each translation keeps the msgid's %(name)s/{name} placeholders.
    _gettext_tool("msgfmt", "--check", "--output-file=/dev/null", str(CATALOG))


def test_extraction_finds_no_string_missing_from_the_catalog(tmp_path, settings, monkeypatch):
    assert CATALOG.is_file(), MISSING_CATALOG
    # given a copy of the source with its catalog, so the extraction below cannot touch the real one
    copy = tmp_path / "hanoismart"
    shutil.copytree(SOURCE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
    copied_catalog = copy / "locale" / "vi" / "LC_MESSAGES" / "django.po"
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(tmp_path)

    # when the strings are extracted and merged as `make messages` does
    call_command("makemessages", locale=["vi"], no_obsolete=True, verbosity=0)

    # then every string in the code already had a translation
    untranslated, fuzzy = _untranslated_and_fuzzy(copied_catalog)
    new_strings = untranslated + fuzzy  # msgmerge marks near matches of a new string fuzzy
    assert not new_strings, (
        f"{len(new_strings)} strings in the code are not in the Vietnamese catalog "
        "(run `make messages` and translate them):\n" + _listing(new_strings)
    )
