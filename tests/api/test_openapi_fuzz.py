"""Fuzzing the REST API from its own OpenAPI document (schemathesis): bad input gets a 4xx, never a 500.

Every operation in /api/v1/openapi.json is called in-process through the WSGI application with requests
generated to fit the schema (positive) and to break it (negative). Public operations are called anonymously;
operations that need a session are called by a resident and by a clerk of Hoàn Kiếm (and a few times
anonymously, which must give 401). No answer may be a server error; answers to valid requests must also
match the documented response schema.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import hypothesis
import pytest
import schemathesis
from django.conf import settings
from django.core import signals
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from hanoismart.directory.services import directory_seed

MAX_EXAMPLES = 25  # per operation, caller and mode
ANONYMOUS_EXAMPLES_ON_PRIVATE_OPERATIONS = 5  # they all end at the 401 in front of the operation


def _settings(max_examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max_examples,
        deadline=None,  # tests never assert on time (CONVENTIONS.md)
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failing request is reported as is
        suppress_health_check=list(HealthCheck),
        database=None,  # nothing written under .hypothesis/
    )


@dataclass(frozen=True)
class Caller:
    """Who calls the API: the cookies and headers of their session (none for an anonymous client)."""

    name: str
    cookies: dict[str, str]
    headers: dict[str, str]

    @property
    def is_signed_in(self) -> bool:
        return bool(self.cookies)


ANONYMOUS = Caller(name="anonymous", cookies={}, headers={})


@pytest.fixture
def _connection_kept_open_between_requests():
    """The WSGI handler closes the database connection after each request, which would end the test's
    transaction on PostgreSQL; Django's test client avoids that the same way, by unhooking the closer."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db, _connection_kept_open_between_requests):
    """The API's own OpenAPI document, read from the WSGI application, with the directory loaded."""
    from hanoismart.wsgi import application

    directory_seed()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def signed_in_callers(personas, sign_in) -> list[Caller]:
    """A resident and a clerk (second factor passed), each with a session and a CSRF token for writes."""
    callers = []
    for name, user in (("resident", personas.resident), ("clerk", personas.clerk_hoan_kiem)):
        session = sign_in(user).cookies[settings.SESSION_COOKIE_NAME].value
        csrf = get_random_string(32)
        callers.append(
            Caller(
                name=name,
                cookies={settings.SESSION_COOKIE_NAME: session, settings.CSRF_COOKIE_NAME: csrf},
                headers={"X-CSRFToken": csrf},
            )
        )
    return callers


class Fuzzer:
    """Runs the generated requests and keeps what went wrong and which statuses came back."""

    def __init__(self, schema, signed_in_callers: list[Caller]):
        self.operations = [result.ok() for result in schema.get_all_operations()]
        assert self.operations, "the OpenAPI document lists no operation: the fuzzing would prove nothing"
        self.signed_in_callers = signed_in_callers
        self.failures: list[str] = []
        self.statuses: dict[tuple[str, str], set[int]] = defaultdict(set)

    def plan(self) -> list[tuple[object, Caller, int]]:
        """(operation, caller, examples): public operations anonymously, others by each signed-in caller."""
        runs = []
        for operation in self.operations:
            if operation.definition.raw.get("security"):
                runs.append((operation, ANONYMOUS, ANONYMOUS_EXAMPLES_ON_PRIVATE_OPERATIONS))
                runs.extend((operation, caller, MAX_EXAMPLES) for caller in self.signed_in_callers)
            else:
                runs.append((operation, ANONYMOUS, MAX_EXAMPLES))
        return runs

    def run(self, operation, caller: Caller, mode: GenerationMode, checks: list[Callable], examples: int):
        @_settings(examples)
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def generated(case) -> None:
            response = case.call(cookies=caller.cookies, headers=caller.headers)
            self.statuses[(operation.label, caller.name)].add(response.status_code)
            case.validate_response(response, checks=checks)

        try:
            generated()
        except (Exception, BaseExceptionGroup) as failure:  # collected; all are reported together
            self.failures.append(f"{operation.label} ({mode.value}, {caller.name}):\n{failure}")

    def assert_sessions_worked(self) -> None:
        """Without a working session, the fuzzing of private operations would only ever meet the 401."""
        for caller in self.signed_in_callers:
            seen = self.statuses[("GET /api/v1/me", caller.name)]
            assert 200 in seen, f"{caller.name}'s session was not accepted by GET /api/v1/me: {sorted(seen)}"


def test_no_request_makes_the_api_answer_with_a_server_error(api_schema, signed_in_callers):
    fuzzer = Fuzzer(api_schema, signed_in_callers)

    for operation, caller, examples in fuzzer.plan():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzzer.run(operation, caller, mode, [not_a_server_error], examples)

    assert not fuzzer.failures, "\n\n".join(fuzzer.failures)
    fuzzer.assert_sessions_worked()


def test_answers_to_valid_requests_match_the_documented_schema(api_schema, signed_in_callers):
    fuzzer = Fuzzer(api_schema, signed_in_callers)

    for operation, caller, examples in fuzzer.plan():
        fuzzer.run(operation, caller, GenerationMode.POSITIVE, [response_schema_conformance], examples)

    assert not fuzzer.failures, "\n\n".join(fuzzer.failures)
    fuzzer.assert_sessions_worked()
