"""The dossier pages: filing online (prefill, reuse, idempotency, errors that keep what was typed), my
dossiers, the public lookup, and the one-stop desk for each tier (anonymous, resident, clerk of this ward,
clerk of another ward)."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hanoismart.audit.models import AuditEvent
from hanoismart.documents.models import Document, DocumentStatus, Provenance
from hanoismart.dossiers.models import ComponentSource, Dossier, DossierEvent
from hanoismart.notifications.models import Message
from hanoismart.procedures.models import DossierStatus as Status
from tests.dossiers.factories import DossierFactory
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def case(birth_case):
    return birth_case


@pytest.fixture
def stored_birth_certificate(personas):
    """A verified birth certificate in the resident's store, of the type the case's first paper needs."""
    return Document.objects.create(
        type_code="GCS",
        type_name="Giấy chứng sinh",
        title="Giấy chứng sinh Nguyễn Văn Bé",
        number="GCS-123",
        owner_user=personas.resident,
        provenance=Provenance.DIGITISED,
        status=DocumentStatus.VALID,
    )


def _papers(case):
    return list(case.components.order_by("order"))


def _filing_post(case, *, document=None, key=None, **extra):
    first, optional = _papers(case)
    data = {
        "case": case.code,
        "idempotency_key": key or uuid.uuid4().hex,
        "form-child_name": "Nguyễn Văn Bé",
        "form-child_birth_date": "2025-11-02",
        "delivery-delivery_method": "collect",
        "delivery-delivery_address": "",
        f"c{first.pk}-source": f"doc:{document.public_id}" if document else "upload",
        f"c{optional.pk}-source": "none",
    }
    data.update(extra)
    return data


def _new_url(case):
    return reverse("dossiers:new", args=[case.procedure.national_code])


# -- filing online ------------------------------------------------------------------------------------------


def test_filing_page_sends_anonymous_visitors_to_sign_in(client, case):
    response = client.get(_new_url(case))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:sign_in"))


def test_filing_page_prefills_the_profile_and_offers_the_stored_paper_first(
    personas, sign_in, case, stored_birth_certificate
):
    case.form_schema = {
        **case.form_schema,
        "properties": {
            **case.form_schema["properties"],
            "applicant_name": {"type": "string", "title": "Người đi khai"},
            "relationship": {"type": "string", "title": "Quan hệ", "enum": ["cha", "mẹ"]},
        },
    }
    case.save()
    client = sign_in(personas.resident)

    response = client.get(_new_url(case), **EN)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="Trần Thị Dân"' in page
    assert page.count("from your HanoiSmart profile") == 1
    first = _papers(case)[0]
    assert f'value="doc:{stored_birth_certificate.public_id}" checked' in page
    assert f'id="c{first.pk}-upload" value="upload">' in page  # not the default when a stored paper matches
    assert '<option value="mẹ">mẹ</option>' in page
    assert 'type="date"' in page
    assert 'name="idempotency_key"' in page


def test_filing_reuses_a_stored_document_and_shows_the_new_dossier(
    personas, sign_in, case, stored_birth_certificate
):
    client = sign_in(personas.resident)

    response = client.post(_new_url(case), _filing_post(case, document=stored_birth_certificate), **EN)

    dossier = Dossier.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dossiers:detail", args=[dossier.code])
    assert dossier.applicant == personas.resident
    assert dossier.status == Status.SUBMITTED
    assert dossier.form_data == {"child_name": "Nguyễn Văn Bé", "child_birth_date": "2025-11-02"}
    paper = dossier.components.get()
    assert (paper.source, paper.document) == (ComponentSource.REUSED, stored_birth_certificate)
    stored_birth_certificate.refresh_from_db()
    assert stored_birth_certificate.reuse_count == 1
    page = client.get(response["Location"], **EN).content.decode()
    assert f"Your dossier {dossier.code} was submitted" in page
    assert "Giấy chứng sinh Nguyễn Văn Bé" in page


def test_filing_with_an_uploaded_file(personas, sign_in, case):
    client = sign_in(personas.resident)
    first = _papers(case)[0]
    data = _filing_post(case)
    data[f"c{first.pk}-file"] = SimpleUploadedFile("giay-chung-sinh.pdf", PDF, content_type="application/pdf")

    response = client.post(_new_url(case), data, **EN)

    assert response.status_code == 302
    paper = Dossier.objects.get().components.get()
    assert (paper.source, paper.file_name) == (ComponentSource.DIGITISED, "giay-chung-sinh.pdf")


def test_a_retry_with_the_same_idempotency_key_files_one_dossier(
    personas, sign_in, case, stored_birth_certificate
):
    client = sign_in(personas.resident)
    data = _filing_post(case, document=stored_birth_certificate, key=uuid.uuid4().hex)

    first = client.post(_new_url(case), data)
    second = client.post(_new_url(case), data)

    assert Dossier.objects.count() == 1
    assert (
        first["Location"]
        == second["Location"]
        == reverse("dossiers:detail", args=[Dossier.objects.get().code])
    )


def test_a_form_error_keeps_what_was_typed_and_files_nothing(
    personas, sign_in, case, stored_birth_certificate
):
    client = sign_in(personas.resident)
    data = _filing_post(case, document=stored_birth_certificate)
    data["form-child_name"] = "X"  # shorter than the form's minimum
    data["delivery-delivery_method"] = "post"
    data["delivery-delivery_address"] = "12 Hàng Bạc"

    response = client.post(_new_url(case), data, **EN)

    assert response.status_code == 422
    page = response.content.decode()
    assert "Ensure this value has at least 2 characters" in page
    assert 'value="X"' in page
    assert 'value="12 Hàng Bạc"' in page
    assert f'value="doc:{stored_birth_certificate.public_id}" checked' in page
    assert f'value="{data["idempotency_key"]}"' in page
    assert not Dossier.objects.exists()


def test_a_missing_paper_is_marked_on_the_paper(personas, sign_in, case):
    client = sign_in(personas.resident)
    first = _papers(case)[0]

    response = client.post(_new_url(case), _filing_post(case), **EN)  # "upload" without a file

    assert response.status_code == 422
    assert f'id="c{first.pk}-errors">Choose the file to upload.' in response.content.decode()
    assert not Dossier.objects.exists()


def test_someone_elses_document_cannot_be_reused(
    personas, sign_in, case, stored_birth_certificate, hoan_kiem
):
    client = sign_in(UserFactory(full_name="Lê Văn Hàng Xóm", ward=hoan_kiem))

    response = client.post(_new_url(case), _filing_post(case, document=stored_birth_certificate), **EN)

    assert response.status_code == 422
    assert "This document is not in your store" in response.content.decode()
    assert not Dossier.objects.exists()


def test_the_summary_shows_the_fee_and_the_due_date(personas, sign_in, case):
    case.fees.create(kind="le_phi", name="Lệ phí", amount=8000, set_by="ministry_of_finance")
    client = sign_in(personas.resident)

    page = client.get(_new_url(case), **EN).content.decode()

    assert "Lệ phí" in page
    assert "8.000 ₫ paid by the city" in page
    assert 'id="summary-due"' in page


# -- my dossiers and the detail page -----------------------------------------------------------------------


def test_my_dossiers_lists_only_mine(personas, sign_in, case, django_assert_max_num_queries):
    mine = [DossierFactory(case=case, applicant=personas.resident) for _ in range(6)]
    other = DossierFactory(case=case, applicant=UserFactory(ward=personas.resident.ward))
    client = sign_in(personas.resident)

    with django_assert_max_num_queries(16):
        response = client.get(reverse("dossiers:mine"), **EN)

    page = response.content.decode()
    assert all(dossier.code in page for dossier in mine)
    assert other.code not in page


def test_my_dossiers_needs_sign_in(client):
    assert client.get(reverse("dossiers:mine")).status_code == 302


def test_the_applicant_sees_the_status_in_words_and_the_timeline(
    personas, sign_in, case, stored_birth_certificate
):
    client = sign_in(personas.resident)
    client.post(_new_url(case), _filing_post(case, document=stored_birth_certificate))
    dossier = Dossier.objects.get()

    page = client.get(reverse("dossiers:detail", args=[dossier.code]), **EN).content.decode()

    assert "Your dossier was sent. The one-stop desk will check it and receive it." in page
    assert "Submitted online" in page
    assert 'id="withdraw"' in page


def test_another_resident_gets_403_on_my_dossier(personas, sign_in, case):
    dossier = DossierFactory(case=case, applicant=personas.resident)
    stranger = sign_in(UserFactory(ward=personas.resident.ward))

    assert stranger.get(reverse("dossiers:detail", args=[dossier.code])).status_code == 403
    response = stranger.post(reverse("dossiers:act", args=[dossier.code]), {"action": "withdraw"})
    assert response.status_code == 403
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED


def test_an_unknown_dossier_is_404(personas, sign_in):
    assert sign_in(personas.resident).get(reverse("dossiers:detail", args=["NOPE-1"])).status_code == 404


def test_the_applicant_withdraws(personas, sign_in, case, stored_birth_certificate):
    client = sign_in(personas.resident)
    client.post(_new_url(case), _filing_post(case, document=stored_birth_certificate))
    dossier = Dossier.objects.get()

    response = client.post(
        reverse("dossiers:act", args=[dossier.code]), {"action": "withdraw", "note": "Nộp nhầm"}, **EN
    )

    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.status == Status.WITHDRAWN
    assert DossierEvent.objects.filter(dossier=dossier, action="withdraw", note="Nộp nhầm").count() == 1


# -- the public lookup ---------------------------------------------------------------------------------------


def test_lookup_shows_status_but_nothing_personal(client, personas, case):
    personas.resident.phone = "0912345678"
    personas.resident.save()
    dossier = DossierFactory(case=case, applicant=personas.resident)

    response = client.get(reverse("dossiers:lookup"), {"code": dossier.code, "phone": "0912345678"}, **EN)

    page = response.content.decode()
    assert response.status_code == 200
    assert dossier.procedure.name in page
    assert "Submitted" in page
    assert personas.resident.full_name not in page


def test_lookup_with_a_wrong_phone_finds_nothing(client, personas, case):
    personas.resident.phone = "0912345678"
    personas.resident.save()
    dossier = DossierFactory(case=case, applicant=personas.resident)

    response = client.get(reverse("dossiers:lookup_vi"), {"code": dossier.code, "phone": "0987654321"}, **EN)

    assert response.status_code == 404
    assert "No dossier matches this code and phone number." in response.content.decode()
    assert dossier.procedure.name not in response.content.decode()


# -- the one-stop desk ---------------------------------------------------------------------------------------


def test_desk_tiers(client, personas, sign_in):
    assert client.get(reverse("dossiers:desk")).status_code == 302
    assert sign_in(personas.resident).get(reverse("dossiers:desk")).status_code == 403
    assert sign_in(personas.clerk_hoan_kiem).get(reverse("dossiers:desk")).status_code == 200


def test_desk_queue_shows_the_wards_dossiers_only(
    personas, sign_in, case, ba_dinh, django_assert_max_num_queries
):
    ours = [DossierFactory(case=case, applicant=personas.resident) for _ in range(3)]
    theirs_applicant = personas.clerk_other_ward
    theirs_applicant.ward = ba_dinh
    theirs_applicant.save()
    theirs = DossierFactory(case=case, applicant=theirs_applicant)
    client = sign_in(personas.clerk_hoan_kiem)

    # Constant whatever the rows: the seven queue counts are one query.
    with django_assert_max_num_queries(21):
        response = client.get(reverse("dossiers:desk"), **EN)

    page = response.content.decode()
    assert all(dossier.code in page for dossier in ours)
    assert theirs.code not in page
    assert 'id="queue-to_receive"' in page


def test_desk_filters_by_text(personas, sign_in, case):
    first, second = (
        DossierFactory(case=case, applicant=personas.resident),
        DossierFactory(case=case, applicant=personas.resident),
    )
    client = sign_in(personas.clerk_hoan_kiem)

    page = client.get(reverse("dossiers:desk"), {"q": first.code}).content.decode()

    assert first.code in page
    assert second.code not in page


def test_bulk_receive_reports_each_dossier(personas, sign_in, case):
    dossiers = [DossierFactory(case=case, applicant=personas.resident) for _ in range(2)]
    client = sign_in(personas.clerk_hoan_kiem)

    response = client.post(
        reverse("dossiers:bulk_receive"),
        {"codes": [d.code for d in dossiers] + ["NOPE-1"]},
        follow=True,
        **EN,
    )

    page = response.content.decode()
    assert "Received 2 dossiers" in page
    assert "NOPE-1: No dossier has this code." in page
    assert {d.status for d in Dossier.objects.all()} == {Status.RECEIVED}


def test_desk_detail_for_the_clerk_of_the_ward(personas, sign_in, case):
    dossier = DossierFactory(case=case, applicant=personas.resident)
    client = sign_in(personas.clerk_hoan_kiem)

    page = client.get(reverse("dossiers:desk_detail", args=[dossier.code]), **EN).content.decode()

    assert personas.resident.full_name in page
    assert 'id="act-receive"' in page
    assert 'id="act-refuse"' in page


def test_clerk_receives_then_the_applicant_sees_it(personas, sign_in, case):
    dossier = DossierFactory(case=case, applicant=personas.resident)
    clerk = sign_in(personas.clerk_hoan_kiem)

    response = clerk.post(reverse("dossiers:desk_act", args=[dossier.code]), {"action": "receive"}, **EN)

    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.status == Status.RECEIVED
    page = (
        sign_in(personas.resident).get(reverse("dossiers:detail", args=[dossier.code]), **EN).content.decode()
    )
    assert "The one-stop desk received your dossier." in page
    assert reverse("dossiers:receipt", args=[dossier.code]) in page


def test_refusing_needs_a_reason(personas, sign_in, case):
    dossier = DossierFactory(case=case, applicant=personas.resident)
    clerk = sign_in(personas.clerk_hoan_kiem)

    response = clerk.post(
        reverse("dossiers:desk_act", args=[dossier.code]), {"action": "refuse", "note": ""}, follow=True, **EN
    )

    assert "Write the reason first." in response.content.decode()
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED


def test_a_clerk_of_another_ward_gets_403_and_nothing_is_written(personas, sign_in, case):
    dossier = DossierFactory(case=case, applicant=personas.resident)
    intruder = sign_in(personas.clerk_other_ward)
    audits, messages = AuditEvent.objects.count(), Message.objects.count()

    assert intruder.get(reverse("dossiers:desk_detail", args=[dossier.code])).status_code == 403
    response = intruder.post(reverse("dossiers:desk_act", args=[dossier.code]), {"action": "receive"})
    bulk = intruder.post(reverse("dossiers:bulk_receive"), {"codes": [dossier.code]})

    assert response.status_code == 403
    assert bulk.status_code == 302
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED
    assert not DossierEvent.objects.filter(dossier=dossier).exists()
    assert (AuditEvent.objects.count(), Message.objects.count()) == (audits, messages)


def test_desk_registers_a_paper_dossier(personas, sign_in, case):
    clerk = sign_in(personas.clerk_hoan_kiem)
    first, optional = _papers(case)
    url = reverse("dossiers:desk_new")
    assert clerk.get(url, {"procedure": case.procedure.national_code}).status_code == 200

    response = clerk.post(
        url,
        {
            "procedure": case.procedure.national_code,
            "case": case.code,
            "idempotency_key": uuid.uuid4().hex,
            "applicant-channel": "in_person",
            "applicant-applicant_national_id": personas.resident.national_id,
            "applicant-applicant_name": "Trần Thị Dân",
            "applicant-applicant_phone": "0912345678",
            "form-child_name": "Nguyễn Văn Bé",
            "delivery-delivery_method": "collect",
            f"c{first.pk}-source": "paper",
            f"c{optional.pk}-source": "none",
        },
        **EN,
    )

    dossier = Dossier.objects.get()
    assert response["Location"] == reverse("dossiers:desk_detail", args=[dossier.code])
    assert (dossier.status, dossier.channel, dossier.applicant) == (
        Status.RECEIVED,
        "in_person",
        personas.resident,
    )
    assert dossier.components.get().source == ComponentSource.NOT_DIGITISED


def test_a_resident_cannot_register_at_the_desk(personas, sign_in):
    assert sign_in(personas.resident).get(reverse("dossiers:desk_new")).status_code == 403


def test_the_menu_links_my_dossiers_and_the_desk_by_role(personas, sign_in):
    resident_page = sign_in(personas.resident).get(reverse("home"), **EN).content.decode()
    clerk_page = sign_in(personas.clerk_hoan_kiem).get(reverse("home"), **EN).content.decode()

    assert "My dossiers" in resident_page
    assert "One-stop desk" not in resident_page
    assert "One-stop desk" in clerk_page


def test_the_procedure_page_offers_filing_online(client, case):
    page = client.get(
        reverse("procedures:detail", args=[case.procedure.national_code]), **EN
    ).content.decode()

    assert f'href="{reverse("dossiers:new", args=[case.procedure.national_code])}" id="file-online"' in page
