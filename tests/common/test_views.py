"""The web shell: home page, language switch, error pages and the health check."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from hanoismart.common import views


def _html(response) -> str:
    return response.content.decode()


@pytest.mark.django_db
def test_home_invites_an_anonymous_visitor_to_register_or_sign_in(client):
    response = client.get(reverse("home"))

    assert response.status_code == 200
    html = _html(response)
    assert '<html lang="vi">' in html
    assert f'href="{reverse("identity:register")}"' in html
    assert f'href="{reverse("identity:sign_in")}"' in html
    assert f'href="{reverse("identity:account")}"' not in html
    assert reverse("identity:sign_out") not in html


def test_home_takes_a_signed_in_resident_to_their_account(personas, sign_in):
    client = sign_in(personas.resident)

    response = client.get(reverse("home"))

    assert response.status_code == 200
    html = _html(response)
    assert f'href="{reverse("identity:account")}"' in html
    assert f'action="{reverse("identity:sign_out")}"' in html
    assert f'href="{reverse("identity:register")}"' not in html
    assert "Trần Thị Dân" in html


def test_home_works_for_a_staff_member_who_has_passed_the_second_factor(personas, sign_in):
    client = sign_in(personas.clerk_hoan_kiem)

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert "Phạm Văn Một Cửa" in _html(response)


@pytest.mark.django_db
def test_switching_to_english_keeps_the_page_and_changes_its_language():
    client = Client()
    assert '<html lang="vi">' in _html(client.get("/"))

    page = reverse("identity:sign_in") + "?next=/account/"
    response = client.post(reverse("set_language"), {"language": "en", "next": page})

    assert response.status_code == 302
    assert response["Location"] == page
    english = _html(client.get(reverse("home")))
    assert '<html lang="en">' in english
    assert "One account for every city service" in english
    # the switch back is offered in Vietnamese, to the people who read it
    assert 'value="vi" lang="vi"' in english
    assert "Tiếng Việt" in english


@pytest.mark.django_db
def test_the_language_switch_returns_to_the_page_it_was_used_on(client):
    html = _html(client.get("/some/missing/page/?q=1"))

    assert '<input type="hidden" name="next" value="/some/missing/page/?q=1">' in html


@pytest.mark.django_db
def test_an_unknown_address_gets_the_translated_404_page(client, settings):
    settings.DEBUG = False

    response = client.get("/no-such-page/", headers={"accept-language": "en"})

    assert response.status_code == 404
    html = _html(response)
    assert "This page does not exist" in html
    assert f'href="{reverse("home")}"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("handler", "status", "heading"),
    [
        (views.bad_request, 400, "We could not understand the request"),
        (views.permission_denied, 403, "You are not allowed to see this page"),
        (views.page_not_found, 404, "This page does not exist"),
    ],
)
def test_each_error_page_says_what_happened(rf: RequestFactory, handler, status, heading):
    request = rf.get("/somewhere/")
    request.user = AnonymousUser()

    with translation.override("en"):
        response = handler(request, Exception("detail the visitor must not see"))

    assert response.status_code == status
    html = _html(response)
    assert heading in html
    assert "detail the visitor must not see" not in html


@pytest.mark.django_db
def test_a_form_sent_without_its_security_token_explains_what_to_do(rf: RequestFactory):
    request = rf.post("/sign-in/")
    request.user = AnonymousUser()

    with translation.override("en"):
        response = views.csrf_failure(request, reason="CSRF token missing.")

    assert response.status_code == 403
    html = _html(response)
    assert "This form has expired" in html
    assert "CSRF token missing." not in html


def test_the_500_page_renders_without_touching_the_database(rf: RequestFactory):
    # The database or the session store may be what failed: the page must not need them. Without the
    # django_db mark, pytest-django makes any query in this test raise.
    request = rf.get("/")

    with translation.override("en"):
        response = views.server_error(request)

    assert response.status_code == 500
    assert "Something went wrong on our side" in _html(response)


@pytest.mark.django_db
def test_healthz_reports_ok(client):
    response = client.get(reverse("health"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
