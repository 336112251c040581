import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from hanoismart.audit.models import AuditEvent
from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.documents.models import Document, DocumentShare, DocumentStatus, Provenance
from hanoismart.documents.selectors import documents_matching, share_by_token
from hanoismart.documents.services import (
    document_digitise,
    document_reuse_record,
    document_revoke,
    document_share_create,
    document_share_open,
    document_share_revoke,
    document_supersede,
    document_update,
    document_upload,
    documents_reuse_record,
)
from hanoismart.documents.signing import verify_pdf
from hanoismart.notifications.models import Message
from tests.documents.pdf_text import pdf_text

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _upload(name="cccd.pdf", data=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_issuing_a_result_stores_a_signed_pdf_in_the_owners_store(issue, personas, leader):
    document = issue()

    assert document.owner_user == personas.resident
    assert (document.provenance, document.status, document.is_signed) == (Provenance.RESULT, "valid", True)
    assert document.issuer_name == "UBND Phường Hoàn Kiếm"
    assert document.source_dossier_code == "000.70.01.H26-260302-0001"
    assert document.printed["Họ và tên người được khai sinh"] == "Trần Thị Bé"
    file = document.files.get()
    assert file.is_signed_pdf
    assert file.content_type == "application/pdf"
    data = file.file.open("rb").read()
    check = verify_pdf(data)
    assert check.is_ok
    assert check.signer_code == "000.70.01.H26"
    text = pdf_text(data)
    assert "Trần Thị Bé" in text
    assert "15/2026/KS" in text
    assert "000.70.01.H26-260302-0001" in text
    verification = (
        f"https://hanoismart.example/verify/{document.public_id}/?d=000.70.01.H26-260302-0001&p=1.001193"
    )
    assert verification in text.replace("\n", "")
    event = AuditEvent.objects.get(action="documents.result_issued")
    assert (event.actor_ref, event.subject_ref) == (leader.public_id, personas.resident.public_id)


def test_issuing_again_for_the_same_dossier_gives_back_the_same_result(issue):
    first = issue()
    second = issue()

    assert second.pk == first.pk
    assert Document.objects.count() == 1


def test_a_clerk_cannot_issue_a_result_and_nothing_is_written(issue, personas):
    with pytest.raises(PermissionDenied):
        issue(actor=personas.clerk_hoan_kiem)

    assert not Document.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="documents.").exists()


def test_the_owner_cannot_edit_a_government_issued_document(issue, personas):
    document = issue()

    with pytest.raises(PermissionDenied) as refused:
        document_update(actor=personas.resident, document=document, title="Giấy khai sinh (sửa)")

    assert refused.value.code == "government_issued"
    document.refresh_from_db()
    assert document.title == "Giấy khai sinh"
    assert not AuditEvent.objects.filter(action="documents.updated").exists()


def test_the_owner_edits_their_own_upload(personas):
    document = document_upload(
        actor=personas.resident, type_code="CCCD", type_name="Căn cước", title="CCCD", upload=_upload()
    )

    document_update(actor=personas.resident, document=document, title="Căn cước công dân", number="001099")

    document.refresh_from_db()
    assert (document.title, document.number) == ("Căn cước công dân", "001099")
    assert AuditEvent.objects.get(action="documents.updated").details["before"] == {
        "title": "CCCD",
        "number": "",
    }


def test_an_uploaded_paper_is_kept_unverified_with_its_checksum(personas):
    document = document_upload(
        actor=personas.resident,
        type_code="CCCD",
        type_name="Căn cước công dân",
        title="Căn cước công dân",
        upload=_upload(),
        issued_on=dt.date(2021, 5, 1),
    )

    assert (document.provenance, document.owner_user, document.is_government_issued) == (
        Provenance.UPLOADED,
        personas.resident,
        False,
    )
    file = document.files.get()
    assert (file.name, file.size, file.is_signed_pdf) == ("cccd.pdf", len(PDF), False)
    assert file.sha256 == __import__("hashlib").sha256(PDF).hexdigest()
    assert AuditEvent.objects.filter(
        action="documents.uploaded", subject_ref=personas.resident.public_id
    ).exists()


def test_an_executable_is_refused_whatever_its_name(personas):
    with translation.override("en"), pytest.raises(InvalidInput) as refused:
        document_upload(
            actor=personas.resident,
            type_code="CCCD",
            type_name="",
            title="Căn cước",
            upload=_upload("cccd.pdf", b"MZ\x90\x00\x03\x00\x00\x00 this is a program"),
        )

    assert str(refused.value.message) == "This kind of file is not accepted. Accepted: JPEG, JPG, PDF, PNG."
    assert refused.value.code == "file_rejected"
    assert not Document.objects.exists()
    assert not AuditEvent.objects.exists()


def test_reuse_is_counted_for_the_owner_only(issue, personas):
    document = issue()

    document_reuse_record(
        actor=personas.resident, document=document, dossier_code="000.70.01.H26-260401-0003"
    )
    with pytest.raises(PermissionDenied):
        document_reuse_record(actor=personas.clerk_hoan_kiem, document=document, dossier_code="X")

    document.refresh_from_db()
    assert document.reuse_count == 1
    assert AuditEvent.objects.filter(action="documents.reused").count() == 1


def test_reuse_of_a_dossiers_documents_is_one_update_and_an_audit_event_each(
    issue, personas, django_assert_num_queries
):
    result = issue()
    paper = document_upload(
        actor=personas.resident, type_code="GCS", type_name="GCS", title="Giấy chứng sinh", upload=_upload()
    )

    # one UPDATE for both, one audit event each (in one INSERT); the same document twice counts once
    with django_assert_num_queries(2):
        documents_reuse_record(
            actor=personas.resident,
            documents=[result, paper, result],
            dossier_code="000.70.01.H26-260401-0004",
        )

    assert sorted(Document.objects.values_list("reuse_count", flat=True)) == [1, 1]
    events = AuditEvent.objects.filter(action="documents.reused")
    assert sorted(events.values_list("object_ref", flat=True)) == sorted(
        [str(result.public_id), str(paper.public_id)]
    )
    assert set(events.values_list("subject_ref", flat=True)) == {personas.resident.public_id}


def test_reuse_with_one_document_not_the_actors_counts_none(issue, personas):
    mine = issue()
    theirs = issue(dossier_code="D-9", owner_user=personas.clerk_other_ward)

    with pytest.raises(PermissionDenied):
        documents_reuse_record(actor=personas.resident, documents=[mine, theirs], dossier_code="X")

    assert list(Document.objects.values_list("reuse_count", flat=True)) == [0, 0]
    assert not AuditEvent.objects.filter(action="documents.reused").exists()


def test_documents_matching_are_the_owners_valid_unexpired_ones_of_that_type(issue, personas):
    result = issue()
    expired = issue(dossier_code="D-2", valid_until=dt.date(2020, 1, 1))
    issue(dossier_code="D-3", type_code="GCNKH", owner_user=personas.clerk_other_ward)

    assert list(documents_matching(actor=personas.resident, type_code="GKS")) == [result]
    assert expired not in documents_matching(actor=personas.resident, type_code="GKS")
    assert list(documents_matching(actor=personas.resident, type_code={"GKS", "GCNKH"})) == [result]


def test_the_issuing_leader_revokes_and_the_owner_is_told(
    issue, personas, leader, django_capture_on_commit_callbacks
):
    document = issue()

    with django_capture_on_commit_callbacks(execute=True):
        document_revoke(actor=leader, document=document, reason="Cấp nhầm người")

    document.refresh_from_db()
    assert (document.status, document.status_reason) == (DocumentStatus.REVOKED, "Cấp nhầm người")
    assert AuditEvent.objects.filter(
        action="documents.revoked", subject_ref=personas.resident.public_id
    ).exists()
    assert set(Message.objects.filter(recipient=personas.resident).values_list("channel", flat=True)) == {
        "in_app",
        "sms",
    }


def test_a_clerk_of_another_ward_cannot_revoke(issue, personas, django_capture_on_commit_callbacks):
    document = issue()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        document_revoke(actor=personas.clerk_other_ward, document=document, reason="Sai")

    document.refresh_from_db()
    assert document.status == DocumentStatus.VALID
    assert not AuditEvent.objects.filter(action="documents.revoked").exists()
    assert not Message.objects.exists()


def test_an_operator_may_revoke_any_result(issue, personas):
    document = issue()

    document_revoke(actor=personas.operator, document=document, reason="Cấp nhầm")

    document.refresh_from_db()
    assert document.status == DocumentStatus.REVOKED


def test_issuing_a_replacement_supersedes_the_old_result(issue, personas):
    old = issue()

    new = issue(dossier_code="000.70.01.H26-260310-0002", number="16/2026/KS", supersedes=old)

    old.refresh_from_db()
    assert (old.status, old.superseded_by) == (DocumentStatus.SUPERSEDED, new)
    assert new.status == DocumentStatus.VALID


def test_supersede_needs_a_replacement_of_the_same_owner(issue, personas, leader):
    old = issue()
    other = issue(dossier_code="D-9", owner_user=personas.clerk_other_ward)

    with pytest.raises(InvalidInput):
        document_supersede(actor=leader, document=old, replacement=other)

    old.refresh_from_db()
    assert old.status == DocumentStatus.VALID


def test_a_clerk_digitises_a_paper_presented_at_the_desk(personas):
    document = document_digitise(
        actor=personas.clerk_hoan_kiem,
        owner_user=personas.resident,
        type_code="CCCD",
        type_name="Căn cước công dân",
        title="Căn cước công dân",
        upload=_upload(),
        issuer_name="Cục Cảnh sát QLHC về TTXH",
        dossier_code="000.70.01.H26-260302-0001",
    )

    assert (document.provenance, document.is_government_issued) == (Provenance.DIGITISED, True)
    event = AuditEvent.objects.get(action="documents.digitised")
    assert (event.unit_code, event.subject_ref) == ("00070", personas.resident.public_id)


def test_a_resident_cannot_digitise(personas):
    with pytest.raises(PermissionDenied):
        document_digitise(
            actor=personas.resident,
            owner_user=personas.resident,
            type_code="CCCD",
            type_name="",
            title="CCCD",
            upload=_upload(),
        )

    assert not Document.objects.exists()


def test_a_shared_link_works_until_revoked(issue, personas):
    document = issue()

    share, token = document_share_create(actor=personas.resident, document=document, days=7)
    opened = document_share_open(token=token, ip="203.0.113.5")

    assert opened.document == document
    assert DocumentShare.objects.get().token_digest != token
    assert AuditEvent.objects.get(action="documents.share_opened").ip == "203.0.113.5"
    document_share_revoke(actor=personas.resident, share=share)
    with pytest.raises(Exception, match="does not exist"), translation.override("en"):
        share_by_token(token=token)


@pytest.mark.parametrize("days", [0, 91, "seven"])
def test_a_shared_link_needs_a_sensible_lifetime(issue, personas, days):
    document = issue()

    with pytest.raises(InvalidInput):
        document_share_create(actor=personas.resident, document=document, days=days)

    assert not DocumentShare.objects.exists()


def test_only_the_owner_shares(issue, personas):
    document = issue()

    with pytest.raises(PermissionDenied):
        document_share_create(actor=personas.clerk_hoan_kiem, document=document, days=7)

    assert not DocumentShare.objects.exists()
