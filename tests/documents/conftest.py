"""Fixtures of the document store's tests: media and signing keys in temporary folders (the development CA is
made once per test session), a leader of the Hoàn Kiếm ward committee, and an issued result."""

from __future__ import annotations

import pytest

from hanoismart.directory.models import Agency
from hanoismart.documents.services import document_issue_result
from hanoismart.documents.signing import signing_cache_clear
from hanoismart.identity.models import StaffPosition, StaffRole
from tests.identity.factories import UserFactory, confirmed_totp_device

HOAN_KIEM_COMMITTEE = "000.70.01.H26"


@pytest.fixture(scope="session")
def signing_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("signing")


@pytest.fixture(autouse=True)
def _files_in_temporary_folders(settings, signing_dir, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SIGNING_DIR = signing_dir
    settings.SIGNING_MODE = "development"
    settings.SIGNING_TRUST_ROOTS = []
    settings.SITE_URL = "https://hanoismart.example"
    yield
    signing_cache_clear()


@pytest.fixture
def hoan_kiem_committee(personas) -> Agency:
    return Agency.objects.get(code=HOAN_KIEM_COMMITTEE)


@pytest.fixture
def leader(hoan_kiem_committee):
    user = UserFactory(full_name="Ngô Văn Lãnh Đạo")
    StaffPosition.objects.create(user=user, role=StaffRole.LEADER, agency=hoan_kiem_committee)
    confirmed_totp_device(user)
    return user


PRINTED = {"Họ và tên người được khai sinh": "Trần Thị Bé", "Ngày sinh": "02/03/2026", "Nơi sinh": "Hà Nội"}


@pytest.fixture
def issue(leader, hoan_kiem_committee, personas):
    """Issue a birth-certificate result to the resident (or ``owner``)."""

    def _issue(**overrides):
        arguments = {
            "actor": leader,
            "agency": hoan_kiem_committee,
            "owner_user": personas.resident,
            "dossier_code": "000.70.01.H26-260302-0001",
            "procedure_code": "1.001193",
            "type_code": "GKS",
            "type_name": "Giấy khai sinh",
            "title": "Giấy khai sinh",
            "number": "15/2026/KS",
            "printed": dict(PRINTED),
            "paragraphs": ["Đăng ký khai sinh đúng hạn tại Ủy ban nhân dân phường Hoàn Kiếm."],
        }
        arguments.update(overrides)
        return document_issue_result(**arguments)

    return _issue
