"""docs/configuration.md documents every environment variable, and the strict env helpers stay strict."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from hanoismart.common import env
from hanoismart.common.env import env_bool, env_choice, env_int, env_list, env_str
from hanoismart.common.management.commands.serve import SERVER_VARIABLES

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONFIGURATION_DOC = PROJECT_DIR / "docs" / "configuration.md"
TABLE_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|")


def documented_variables(section_prefix: str) -> set[str]:
    """The variables in the table under the ``## `` heading of docs/configuration.md that starts so."""
    variables: set[str] = set()
    in_section = False
    for line in CONFIGURATION_DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_section = line.removeprefix("## ").startswith(section_prefix)
        elif in_section and (match := TABLE_ROW.match(line)):
            variables.add(match.group(1))
    return variables


def variables_read_by_settings() -> set[str]:
    """Load the settings in a fresh interpreter (this one's were loaded long ago) and list what they read."""
    script = (
        "import hanoismart.settings\n"
        "from hanoismart.common.env import READ_VARIABLES\n"
        "print('\\n'.join(sorted(READ_VARIABLES)))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_DIR / "src")}
    completed = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, check=True
    )
    return set(completed.stdout.split())


def test_every_variable_the_settings_read_is_documented_and_nothing_else():
    read = variables_read_by_settings()
    documented = documented_variables("Settings")

    assert read, "settings.py read no variable through hanoismart.common.env: the check would prove nothing"
    assert not read - documented, (
        f"document these in docs/configuration.md (Settings): {sorted(read - documented)}"
    )
    assert not documented - read, (
        f"settings.py no longer reads these; remove them: {sorted(documented - read)}"
    )


def test_every_variable_the_server_reads_is_documented_and_nothing_else():
    assert documented_variables("Server") == set(SERVER_VARIABLES)


@pytest.fixture
def fresh_record(monkeypatch):
    """Record the names read during one test apart, so the helpers' tests leave READ_VARIABLES as it was."""
    record: set[str] = set()
    monkeypatch.setattr(env, "READ_VARIABLES", record)
    return record


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("FALSE", False), ("1", True), ("off", False)])
def test_env_bool_reads_true_and_false(monkeypatch, fresh_record, raw, expected):
    monkeypatch.setenv("HANOISMART_TEST_FLAG", raw)

    assert env_bool("HANOISMART_TEST_FLAG", not expected) is expected
    assert fresh_record == {"HANOISMART_TEST_FLAG"}


def test_env_bool_refuses_maybe(monkeypatch, fresh_record):
    monkeypatch.setenv("HANOISMART_TEST_FLAG", "maybe")

    with pytest.raises(ImproperlyConfigured, match="HANOISMART_TEST_FLAG must be true or false, not 'maybe'"):
        env_bool("HANOISMART_TEST_FLAG", False)


@pytest.mark.parametrize("raw", [None, ""])
def test_unset_or_empty_gives_the_default(monkeypatch, fresh_record, raw):
    if raw is None:
        monkeypatch.delenv("HANOISMART_TEST_VALUE", raising=False)
    else:
        monkeypatch.setenv("HANOISMART_TEST_VALUE", raw)

    assert env_bool("HANOISMART_TEST_VALUE", True) is True
    assert env_int("HANOISMART_TEST_VALUE", 7, minimum=1) == 7
    assert env_str("HANOISMART_TEST_VALUE", "default") == "default"
    assert env_list("HANOISMART_TEST_VALUE", ["a"]) == ["a"]
    assert fresh_record == {"HANOISMART_TEST_VALUE"}


def test_env_int_accepts_the_minimum(monkeypatch, fresh_record):
    monkeypatch.setenv("HANOISMART_TEST_NUMBER", "30")

    assert env_int("HANOISMART_TEST_NUMBER", 300, minimum=30) == 30


def test_env_int_refuses_a_number_below_the_minimum(monkeypatch, fresh_record):
    monkeypatch.setenv("HANOISMART_TEST_NUMBER", "29")

    with pytest.raises(ImproperlyConfigured, match="HANOISMART_TEST_NUMBER must be at least 30, not 29"):
        env_int("HANOISMART_TEST_NUMBER", 300, minimum=30)


def test_env_int_refuses_words(monkeypatch, fresh_record):
    monkeypatch.setenv("HANOISMART_TEST_NUMBER", "five")

    with pytest.raises(
        ImproperlyConfigured, match="HANOISMART_TEST_NUMBER must be a whole number, not 'five'"
    ):
        env_int("HANOISMART_TEST_NUMBER", 5)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch, fresh_record):
    monkeypatch.setenv("HANOISMART_TEST_LIST", " a.example , ,b.example,")

    assert env_list("HANOISMART_TEST_LIST", []) == ["a.example", "b.example"]


def test_env_choice_refuses_an_unknown_word(monkeypatch, fresh_record):
    monkeypatch.setenv("HANOISMART_TEST_CHOICE", "carrier-pigeon")

    with pytest.raises(ImproperlyConfigured, match="must be one of console, webhook, not 'carrier-pigeon'"):
        env_choice("HANOISMART_TEST_CHOICE", "console", ("console", "webhook"))


def test_a_name_file_variable_supplies_the_secret_from_a_file(monkeypatch, fresh_record, tmp_path):
    # given a secret mounted as a file, and a different value in the plain variable
    secret = tmp_path / "secret_key"
    secret.write_text("  from-the-file\n", encoding="utf-8")
    monkeypatch.setenv("HANOISMART_TEST_SECRET_FILE", str(secret))
    monkeypatch.setenv("HANOISMART_TEST_SECRET", "from-the-environment")

    # when it is read, then the file wins, stripped of surrounding whitespace
    assert env_str("HANOISMART_TEST_SECRET", "default") == "from-the-file"
    assert fresh_record == {"HANOISMART_TEST_SECRET"}


def test_a_name_file_variable_is_parsed_like_the_variable(monkeypatch, fresh_record, tmp_path):
    flag = tmp_path / "flag"
    flag.write_text("maybe\n", encoding="utf-8")
    monkeypatch.setenv("HANOISMART_TEST_FLAG_FILE", str(flag))

    with pytest.raises(ImproperlyConfigured, match="HANOISMART_TEST_FLAG must be true or false"):
        env_bool("HANOISMART_TEST_FLAG", False)


def test_a_name_file_that_does_not_exist_stops_the_start(monkeypatch, fresh_record, tmp_path):
    monkeypatch.setenv("HANOISMART_TEST_SECRET_FILE", str(tmp_path / "missing"))

    with pytest.raises(FileNotFoundError):
        env_str("HANOISMART_TEST_SECRET", "default")
