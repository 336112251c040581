"""Reads of the document store: what a filing's papers may use."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hanoismart.documents.models import DocumentStatus
from hanoismart.documents.selectors import documents_for_papers, documents_matching
from hanoismart.identity.models import Membership, MembershipRole, Organisation
from tests.documents.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def _organisation(tax_code: str) -> Organisation:
    return Organisation.objects.create(tax_code=tax_code, name=f"Công ty {tax_code}", kind="enterprise")


def test_documents_for_papers_are_exactly_what_documents_matching_gives(personas):
    # given: the resident's store, an organisation they act for, and documents that must not be usable
    resident = personas.resident
    mine = _organisation("0101234567")
    Membership.objects.create(user=resident, organisation=mine, role=MembershipRole.AUTHORISED)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    usable = [
        DocumentFactory(owner_user=resident, type_code="GCS"),
        DocumentFactory(owner_user=resident, type_code="CCCD", valid_until=timezone.localdate()),
        DocumentFactory(owner_organisation=mine, type_code="GCS"),
    ]
    not_usable = [
        DocumentFactory(owner_user=resident, type_code="GCS", valid_until=yesterday),
        DocumentFactory(owner_user=resident, type_code="GCS", status=DocumentStatus.REVOKED),
        DocumentFactory(owner_user=resident, type_code="GKS"),
        DocumentFactory(owner_user=personas.clerk_hoan_kiem, type_code="GCS"),
        DocumentFactory(owner_organisation=_organisation("0107654321"), type_code="GCS"),
    ]
    picked = [document.public_id for document in usable + not_usable]

    # when
    found = documents_for_papers(actor=resident, public_ids=picked, type_codes={"GCS", "CCCD"})

    # then
    expected = documents_matching(actor=resident, type_code={"GCS", "CCCD"}).filter(public_id__in=picked)
    assert {document.pk for document in found} == {document.pk for document in usable}
    assert {document.pk for document in found} == {document.pk for document in expected}


def test_documents_for_papers_of_nobody_or_of_nothing_read_nothing(personas, django_assert_num_queries):
    document = DocumentFactory(owner_user=personas.resident, type_code="GCS")
    with django_assert_num_queries(0):
        assert documents_for_papers(actor=personas.resident, public_ids=[], type_codes={"GCS"}) == []
        assert documents_for_papers(actor=None, public_ids=[document.public_id], type_codes={"GCS"}) == []
    with django_assert_num_queries(1):  # a person's own document: no organisation is read
        assert documents_for_papers(
            actor=personas.resident, public_ids=[document.public_id], type_codes={"GCS"}
        ) == [document]
