"""Filing online and at the desk: agency, papers (upload or reuse), fees, codes, idempotency."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from hanoismart.audit.models import AuditEvent
from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.documents.services import document_upload
from hanoismart.dossiers.models import ComponentSource, Dossier, DossierComponent, Payment, PaymentStatus
from hanoismart.dossiers.services import ComponentInput, dossier_register_at_desk, dossier_submit
from hanoismart.notifications.models import Message
from hanoismart.procedures.models import DossierStatus, Fee
from tests.dossiers.support import mandatory_papers, pdf_upload, submit, trace_counts

pytestmark = pytest.mark.django_db


def test_submit_files_with_the_applicants_ward_committee(
    personas, desk, birth_case, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dossier = submit(personas.resident, birth_case)

    today = timezone.localdate()
    assert dossier.code == f"000.70.01.H26-{today:%y%m%d}-0001"
    assert dossier.status == DossierStatus.SUBMITTED
    assert dossier.agency == desk.agency
    assert dossier.unit == desk.agency.unit
    assert dossier.applicant == personas.resident
    assert dossier.applicant_name == "Trần Thị Dân"
    assert dossier.step.name == "Tiếp nhận, kiểm tra hồ sơ"
    assert dossier.payment_status == PaymentStatus.NONE
    paper = dossier.components.get()
    assert (paper.name, paper.source, paper.file_name) == (
        "Giấy chứng sinh",
        "digitised",
        "giay-chung-sinh.pdf",
    )
    event = dossier.events.get()
    assert (event.action, event.to_status, event.actor) == ("submit", "1", personas.resident)
    assert list(dossier.portal_messages.values_list("sequence", "status", "state")) == [(1, "1", "delivered")]
    sent = Message.objects.filter(recipient=personas.resident, template="dossiers.status")
    assert sorted(sent.values_list("channel", flat=True)) == ["in_app", "sms"]


def test_one_task_after_commit_notifies_and_syncs(
    personas, desk, birth_case, django_capture_on_commit_callbacks
):
    # one queue write per filing: huey's SQLite queue serialises writers on its file lock
    with django_capture_on_commit_callbacks() as callbacks:
        dossier = submit(personas.resident, birth_case)

    assert len(callbacks) == 1
    assert not Message.objects.exists()  # written by the task, not by the request
    callbacks[0]()
    assert list(dossier.portal_messages.values_list("state", flat=True)) == ["delivered"]
    sent = Message.objects.filter(recipient=personas.resident, template="dossiers.status")
    assert sorted(sent.values_list("channel", flat=True)) == ["in_app", "sms"]


def test_second_submission_gets_the_next_code(personas, desk, birth_case):
    first = submit(personas.resident, birth_case)
    second = submit(personas.resident, birth_case)

    assert first.code[-4:] == "0001"
    assert second.code[-4:] == "0002"


def test_same_idempotency_key_returns_the_same_dossier(personas, desk, birth_case):
    first = submit(personas.resident, birth_case, idempotency_key="abc-123")
    counts = trace_counts()

    again = submit(personas.resident, birth_case, idempotency_key="abc-123")

    assert again.pk == first.pk
    assert Dossier.objects.count() == 1
    assert trace_counts() == counts


def _media_files() -> int:
    from django.conf import settings

    root = Path(settings.MEDIA_ROOT)
    return sum(1 for path in root.rglob("*") if path.is_file()) if root.exists() else 0


def test_a_retry_stores_no_file_and_takes_no_code_number(personas, desk, birth_case, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)  # this test's own folder: other runs write files too
    first = submit(personas.resident, birth_case, idempotency_key="abc-123")
    files, counts = _media_files(), trace_counts()

    # the retry meets the unique constraint at the dossier's INSERT, before its paper's file is stored
    again = submit(personas.resident, birth_case, idempotency_key="abc-123")
    after_retry = (_media_files(), trace_counts())
    following = submit(personas.resident, birth_case, idempotency_key="abc-124")

    assert again.pk == first.pk
    assert after_retry == (files, counts)
    assert following.code[-4:] == "0002"


def test_a_retry_whose_input_no_longer_passes_still_gets_the_dossier(personas, desk, birth_case):
    first = submit(personas.resident, birth_case, idempotency_key="abc-123")
    counts = trace_counts()

    again = submit(personas.resident, birth_case, idempotency_key="abc-123", form_data={}, components=[])

    assert again.pk == first.pk
    assert trace_counts() == counts
    with pytest.raises(InvalidInput):  # the same input under a new key is refused
        submit(personas.resident, birth_case, idempotency_key="abc-124", form_data={})


def test_missing_mandatory_paper_is_refused_and_nothing_written(personas, desk, birth_case):
    with pytest.raises(InvalidInput) as refused, translation.override("en"):
        dossier_submit(
            actor=personas.resident, case=birth_case, form_data={"child_name": "Bé"}, components=[]
        )

    component = birth_case.components.get(is_mandatory=True)
    assert refused.value.details == {f"component_{component.pk}": ["Giấy chứng sinh is required."]}
    assert Dossier.objects.count() == 0
    assert trace_counts() == (0, 0, 0, 0)


def test_invalid_form_is_refused(personas, desk, birth_case):
    with pytest.raises(InvalidInput) as refused:
        submit(personas.resident, birth_case, form_data={})

    assert refused.value.code == "form_invalid"
    assert Dossier.objects.count() == 0


def test_a_file_of_the_wrong_kind_is_refused(personas, desk, birth_case):
    component = birth_case.components.get(is_mandatory=True)
    text = pdf_upload("not-a-pdf.pdf")
    text.file.write(b"")
    text.file.seek(0)
    text.file.truncate()
    text.file.write(b"hello, plain text")
    text.size = 17
    text.file.seek(0)

    with pytest.raises(InvalidInput) as refused:
        submit(
            personas.resident, birth_case, components=[ComponentInput(component_id=component.pk, upload=text)]
        )

    assert list(refused.value.details) == [f"component_{component.pk}"]
    assert Dossier.objects.count() == 0


def test_another_ward_only_where_the_procedure_allows(personas, desk, birth_case, ba_dinh):
    with pytest.raises(InvalidInput) as refused:
        submit(personas.resident, birth_case, unit=ba_dinh)
    assert refused.value.code == "outside_ward"

    birth_case.procedure.may_file_outside_ward = True
    birth_case.procedure.save()
    dossier = submit(personas.resident, birth_case, unit=ba_dinh)
    assert dossier.agency.code == "000.04.01.H26"


def test_a_document_of_the_store_satisfies_the_paper(personas, desk, birth_case):
    document = document_upload(
        actor=personas.resident,
        type_code="GCS",
        type_name="Giấy chứng sinh",
        title="Giấy chứng sinh",
        upload=pdf_upload(),
    )
    component = birth_case.components.get(is_mandatory=True)

    dossier = submit(
        personas.resident,
        birth_case,
        components=[ComponentInput(component_id=component.pk, document_public_id=document.public_id)],
    )

    paper = dossier.components.get()
    assert (paper.source, paper.document) == (ComponentSource.REUSED, document)
    document.refresh_from_db()
    assert document.reuse_count == 1


def test_a_filings_rows_are_written_once_as_built_and_its_instances_are_the_rows(personas, desk, birth_case):
    """The rows are built first and written together (on PostgreSQL the code with the dossier, then the
    rest in one statement): each once, with what was built, and the instances carry the ids written."""
    document = document_upload(
        actor=personas.resident, type_code="GCS", type_name="GCS", title="GCS", upload=pdf_upload()
    )
    mandatory, optional = birth_case.components.order_by("order")
    before = trace_counts()

    dossier = submit(
        personas.resident,
        birth_case,
        components=[
            ComponentInput(component_id=mandatory.pk, document_public_id=document.public_id),
            ComponentInput(component_id=optional.pk, upload=pdf_upload("uy-quyen.pdf")),
        ],
    )

    stored = Dossier.objects.get()
    assert (dossier.pk, dossier.code) == (stored.pk, stored.code)
    remembered = [(row.pk, row.public_id, row.source) for row in dossier.components.all()]
    assert remembered == list(stored.components.order_by("id").values_list("id", "public_id", "source"))
    assert [source for _, _, source in remembered] == [ComponentSource.REUSED, ComponentSource.DIGITISED]
    events, audits, _messages, portal = (
        after - then for after, then in zip(trace_counts(), before, strict=True)
    )
    assert (events, audits, portal) == (1, 2, 1)
    actions = ["documents.reused", "dossiers.submit"]
    trail = {event.action: event for event in AuditEvent.objects.filter(action__in=actions)}
    assert trail["documents.reused"].details == {"dossier_code": stored.code}
    assert trail["documents.reused"].object_ref == str(document.public_id)
    assert trail["dossiers.submit"].details == {
        "code": stored.code,
        "from": "",
        "to": DossierStatus.SUBMITTED,
        "channel": "online",
    }
    message = stored.portal_messages.get()
    assert (message.sequence, message.status, message.payload["code"]) == (1, "1", stored.code)
    document.refresh_from_db()
    assert document.reuse_count == 1


def test_rows_past_the_databases_parameter_limit_go_in_batches(personas, desk, birth_case, monkeypatch):
    # given: a database that takes one row per INSERT (SQLite's limit, reached by many papers)
    monkeypatch.setattr(connection.ops, "bulk_batch_size", lambda fields, objs: 1)
    mandatory, optional = birth_case.components.order_by("order")

    # when: two papers are written
    with CaptureQueriesContext(connection) as queries:
        dossier = submit(
            personas.resident,
            birth_case,
            components=[
                ComponentInput(component_id=mandatory.pk, upload=pdf_upload()),
                ComponentInput(component_id=optional.pk, upload=pdf_upload("uy-quyen.pdf")),
            ],
        )

    # then: in two INSERTs (on PostgreSQL two parts of one statement), each row once, and each instance
    # got its own row's id
    insert = f"INSERT INTO {connection.ops.quote_name(DossierComponent._meta.db_table)} "
    assert sum(query["sql"].count(insert) for query in queries.captured_queries) == 2
    remembered = [(row.pk, row.file_name) for row in dossier.components.all()]
    assert remembered == list(dossier.components.order_by("id").values_list("id", "file_name"))
    assert [name for _, name in remembered] == ["giay-chung-sinh.pdf", "uy-quyen.pdf"]
    assert AuditEvent.objects.filter(action="dossiers.submit", object_ref=str(dossier.public_id)).count() == 1


def test_someone_elses_document_cannot_be_reused(personas, desk, birth_case):
    document = document_upload(
        actor=personas.clerk_other_ward, type_code="GCS", type_name="GCS", title="GCS", upload=pdf_upload()
    )
    component = birth_case.components.get(is_mandatory=True)

    with pytest.raises(InvalidInput):
        submit(
            personas.resident,
            birth_case,
            components=[ComponentInput(component_id=component.pk, document_public_id=document.public_id)],
        )
    assert Dossier.objects.count() == 0


def test_fees_online_after_2026_are_paid_by_the_city(personas, desk, birth_case, settings):
    Fee.objects.create(case=birth_case, kind="le_phi", name="Lệ phí", amount=8_000, set_by="city_council")
    Fee.objects.create(case=birth_case, kind="phi", name="Phí", amount=5_000, set_by="ministry_of_finance")

    dossier = submit(personas.resident, birth_case)

    if timezone.localdate().year >= 2026:
        assert (dossier.fee_total, dossier.fee_applicant, dossier.fee_city) == (5_000, 0, 5_000)
        assert dossier.payment_status == PaymentStatus.CITY_PAID
        payment = Payment.objects.get(dossier=dossier)
        assert (payment.payer, payment.amount, payment.state) == ("city", 5_000, "paid")
    else:
        assert (dossier.fee_total, dossier.fee_applicant, dossier.fee_city) == (13_000, 13_000, 0)
        assert dossier.payment_status == PaymentStatus.DUE


def test_desk_registration_is_received_at_once(personas, desk, birth_case):
    component = birth_case.components.get(is_mandatory=True)

    dossier = dossier_register_at_desk(
        actor=desk.clerk,
        case=birth_case,
        channel="in_person",
        applicant_national_id=personas.resident.national_id,
        applicant_name="Trần Thị Dân",
        applicant_phone="0912345678",
        form_data={"child_name": "Nguyễn Văn Bé"},
        components=[ComponentInput(component_id=component.pk, paper_only=True)],
    )

    assert dossier.status == DossierStatus.RECEIVED
    assert dossier.applicant == personas.resident
    assert dossier.received_at is not None
    assert dossier.due_at > dossier.received_at
    assert dossier.step.name == "Thẩm định, xác minh"
    assert dossier.components.get().source == ComponentSource.NOT_DIGITISED
    assert list(dossier.events.values_list("action", "to_status")) == [("register", "2")]


def test_clerk_of_another_ward_cannot_register_a_ward_dossier_for_this_ward_type(personas, desk, birth_case):
    with pytest.raises(PermissionDenied):
        dossier_register_at_desk(
            actor=personas.department_officer,
            case=birth_case,
            channel="in_person",
            applicant_national_id=personas.resident.national_id,
            applicant_name="Trần Thị Dân",
            applicant_phone="0912345678",
            form_data={"child_name": "Bé"},
            components=mandatory_papers(birth_case),
        )
    assert Dossier.objects.count() == 0
    assert trace_counts() == (0, 0, 0, 0)
