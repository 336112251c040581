"""The acceptance journey of online public services: a resident files a birth registration online, reusing
papers from their document store; the ward's clerk receives it; an officer asks for a supplement across a
public holiday; the resident supplements; the officer passes it on; the leader signs; the resident downloads
the signed PDF, whose signature validates, and finds the result in their store."""

from __future__ import annotations

import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from hanoismart.directory.models import Agency, CalendarDay
from hanoismart.documents.models import Document, DocumentStatus, Provenance
from hanoismart.documents.signing import verify_pdf
from hanoismart.dossiers.models import Dossier
from hanoismart.identity.models import StaffRole
from hanoismart.procedures import seeds
from hanoismart.procedures.models import DossierStatus as Status
from tests.conftest import _staff
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.e2e

BIRTH = "1.001193"


def _act_as(page: Page, sign_in, user, live_server) -> None:
    """Put ``user``'s signed-in session (second factor confirmed for staff) in the browser: signing in has
    its own journey (test_accounts.py); this one is about dossiers."""
    client = sign_in(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


@pytest.fixture
def ward_desk(personas, hoan_kiem):
    """The seeded catalog, the demo-like resident of Hoàn Kiếm with two verified papers in their store, the
    ward's staff, and a public holiday in the coming days (the supplement request spans it)."""
    seeds.run(demo=False, stdout=io.StringIO())
    agency = Agency.objects.get(code="000.70.01.H26")
    resident = UserFactory(
        national_id="001099000001", full_name="Nguyễn Văn An", phone="0912000001", ward=hoan_kiem
    )
    for type_code, title in [
        ("CCCD", "Căn cước Nguyễn Văn An"),
        ("GCS", "Giấy chứng sinh bé Nguyễn Minh Khôi"),
    ]:
        Document.objects.create(
            type_code=type_code,
            type_name=title,
            title=title,
            number=f"{type_code}-0001",
            owner_user=resident,
            provenance=Provenance.DIGITISED,
            status=DocumentStatus.VALID,
        )
    holiday = timezone.localdate() + dt.timedelta(days=2)
    CalendarDay.objects.update_or_create(date=holiday, defaults={"kind": "holiday", "reason": "Nghỉ lễ"})
    return {
        "resident": resident,
        "clerk": personas.clerk_hoan_kiem,
        "officer": _staff(StaffRole.OFFICER, agency, "Bùi Văn Thẩm Định"),
        "leader": _staff(StaffRole.LEADER, agency, "Ngô Thị Lãnh Đạo"),
    }


def _desk_action(page: Page, action: str) -> None:
    page.locator(f"#act-{action} button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()


def test_a_birth_registration_from_filing_to_the_signed_result(
    page, screenshot, live_server, sign_in, ward_desk
):
    resident, clerk, officer, leader = (ward_desk[k] for k in ("resident", "clerk", "officer", "leader"))

    # given the resident on the procedure's page
    _act_as(page, sign_in, resident, live_server)
    page.goto(f"/procedures/{BIRTH}/")
    page.locator("#file-online").click()
    expect(page.locator("main h1")).to_have_text("Đăng ký khai sinh")
    screenshot("choose-case")
    page.locator(".list-group a", has_text="quá hạn").click()

    # then the form carries what their account knows, and their stored papers are chosen already
    expect(page.locator("#id_form-applicant_name")).to_have_value("Nguyễn Văn An")
    expect(page.locator("#id_form-applicant_id")).to_have_value("001099000001")
    expect(page.locator(".paper input[type=radio][value^='doc:']:checked")).to_have_count(2)
    expect(page.locator("#summary-due")).not_to_be_empty()

    # when they fill in the rest and submit
    page.locator("#id_form-relationship").select_option("cha")
    page.locator("#id_form-child_name").fill("Nguyễn Minh Khôi")
    page.locator("#id_form-child_birth_date").fill("2025-09-01")
    page.locator("#id_form-child_sex").select_option("nam")
    page.locator("#id_form-place_of_birth").fill("Bệnh viện Phụ sản Hà Nội")
    screenshot("file-online")
    page.locator("#filing-form button[type=submit]").click()

    # then the dossier exists, submitted, with both papers reused from the store
    expect(page.locator("#status")).to_contain_text("Đã nộp")
    dossier = Dossier.objects.get()
    assert dossier.status == Status.SUBMITTED
    assert sorted(dossier.components.values_list("source", flat=True)) == ["reused", "reused"]
    screenshot("dossier-submitted")

    # when the ward's clerk receives it from the desk
    _act_as(page, sign_in, clerk, live_server)
    page.goto("/desk/")
    expect(page.locator("#queue-to_receive .badge")).to_have_text("1")
    screenshot("desk-queue")
    page.locator(f"a[href='/desk/dossiers/{dossier.code}/']").click()
    screenshot("desk-dossier")
    _desk_action(page, "receive")
    dossier.refresh_from_db()
    assert dossier.status == Status.RECEIVED
    due_before = dossier.due_at

    # and an officer asks for a supplement (the clock pauses; the holiday lies ahead)
    _act_as(page, sign_in, officer, live_server)
    page.goto(f"/desk/dossiers/{dossier.code}/")
    page.locator("#act-request_supplement summary").click()
    page.locator("#sup-note").fill("Giấy chứng sinh bản chụp bị mờ.")
    page.locator("#sup-items").fill("Giấy chứng sinh (bản rõ nét)")
    screenshot("request-supplement")
    page.locator("#act-request_supplement button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    dossier.refresh_from_db()
    assert dossier.status == Status.SUPPLEMENT_REQUESTED

    # and the resident sends the paper asked for
    _act_as(page, sign_in, resident, live_server)
    page.goto(f"/dossiers/{dossier.code}/")
    expect(page.locator("#supplement")).to_contain_text("Giấy chứng sinh (bản rõ nét)")
    page.locator("#supplement input[type=file]").nth(1).set_input_files(
        {"name": "giay-chung-sinh.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}
    )
    screenshot("supplement")
    page.locator("#supplement button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    dossier.refresh_from_db()
    assert dossier.status != Status.SUPPLEMENT_REQUESTED
    assert dossier.due_at >= due_before

    # and the officer passes it on to the leader, who signs
    _act_as(page, sign_in, officer, live_server)
    page.goto(f"/desk/dossiers/{dossier.code}/")
    _desk_action(page, "forward")
    _act_as(page, sign_in, leader, live_server)
    page.goto(f"/desk/dossiers/{dossier.code}/")
    screenshot("to-sign")
    _desk_action(page, "sign")
    dossier.refresh_from_db()
    assert dossier.status == Status.PROCESSED
    assert dossier.result_document is not None

    # then the resident downloads the signed result, whose signature validates
    _act_as(page, sign_in, resident, live_server)
    page.goto(f"/dossiers/{dossier.code}/")
    expect(page.locator("#result")).to_be_visible()
    screenshot("result-ready")
    href = page.locator("#result-download").get_attribute("href")
    response = page.request.get(href)
    assert response.status == 200
    # pyHanko's validation runs its own event loop: off the thread where Playwright's loop runs.
    with ThreadPoolExecutor(max_workers=1) as pool:
        check = pool.submit(verify_pdf, response.body()).result()
    assert (check.is_signed, check.intact, check.valid) == (True, True, True)

    # and the result is in their store
    page.goto("/documents/")
    expect(page.locator("main")).to_contain_text(dossier.result_document.title)
    screenshot("store")
