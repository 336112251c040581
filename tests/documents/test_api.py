import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from oauth2_provider.models import AccessToken

from tests.documents.factories import DocumentFactory, with_file
from tests.identity.oidc_support import make_app

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _token(user, scope: str) -> dict[str, str]:
    app = make_app(f"docs-app-{user.pk}-{scope.replace(' ', '-')}")
    token = AccessToken.objects.create(
        user=user,
        application=app,
        token=f"token-{user.pk}-{scope}",
        scope=scope,
        expires=timezone.now() + dt.timedelta(hours=1),
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {token.token}", **EN}


def test_a_token_with_documents_read_lists_the_callers_store(client, personas, django_assert_max_num_queries):
    mine = [DocumentFactory(owner_user=personas.resident, title=f"Giấy {n}") for n in range(3)]
    DocumentFactory(owner_user=personas.clerk_other_ward)
    headers = _token(personas.resident, "openid documents.read")

    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/documents", {"page_size": 2}, **headers)

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 3
    assert [item["id"] for item in body["items"]] == [str(mine[2].public_id), str(mine[1].public_id)]
    assert body["items"][0]["provenance"] == "uploaded"
    assert body["items"][0]["is_government_issued"] is False


def test_a_token_without_the_scope_is_refused(client, personas):
    DocumentFactory(owner_user=personas.resident)

    response = client.get("/api/v1/documents", **_token(personas.resident, "openid dossiers.read"))

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_anonymous_callers_are_refused(client):
    assert client.get("/api/v1/documents").status_code == 401


def test_the_session_works_too(sign_in, personas):
    DocumentFactory(owner_user=personas.resident)

    assert sign_in(personas.resident).get("/api/v1/documents").json()["count"] == 1


def test_one_document_with_its_printed_fields_and_file(client, personas, issue):
    document = issue()

    body = client.get(
        f"/api/v1/documents/{document.public_id}", **_token(personas.resident, "documents.read")
    ).json()

    assert body["id"] == str(document.public_id)
    assert body["issuer_code"] == "000.70.01.H26"
    assert body["printed"]["Họ và tên người được khai sinh"] == "Trần Thị Bé"
    assert [file["is_signed_pdf"] for file in body["files"]] == [True]


def test_the_file_is_the_owners_only(client, personas):
    document = DocumentFactory(owner_user=personas.resident)
    with_file(document)

    own = client.get(
        f"/api/v1/documents/{document.public_id}/file", **_token(personas.resident, "documents.read")
    )
    other = client.get(
        f"/api/v1/documents/{document.public_id}/file", **_token(personas.clerk_other_ward, "documents.read")
    )

    assert own.status_code == 200
    assert b"".join(own.streaming_content).startswith(b"%PDF")
    assert other.status_code == 404
    assert other.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("identifier", "status"), [("not-a-uuid", 422), ("00000000-0000-0000-0000-000000000000", 404)]
)
def test_unknown_documents_are_404_and_malformed_ids_422(client, personas, identifier, status):
    response = client.get(f"/api/v1/documents/{identifier}", **_token(personas.resident, "documents.read"))

    assert response.status_code == status


def test_verify_is_public_and_shows_no_personal_data(client, personas, issue):
    document = issue()

    response = client.get(f"/api/v1/verify/{document.public_id}")

    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["issuer"], body["number"]) == (
        "valid",
        "UBND Phường Hoàn Kiếm",
        "15/2026/KS",
    )
    assert (body["dossier_code"], body["procedure_code"]) == ("000.70.01.H26-260302-0001", "1.001193")
    assert body["signature"]["is_valid"] is True
    assert body["signature"]["signer_code"] == "000.70.01.H26"
    text = response.content.decode()
    assert personas.resident.national_id not in text
    assert personas.resident.phone not in text
    assert "owner" not in text


def test_verify_a_pdf_upload(client, issue):
    data = issue().files.get().file.open("rb").read()

    body = client.post("/api/v1/verify", {"file": SimpleUploadedFile("kq.pdf", data)}).json()

    assert body["signature"]["is_valid"] is True
    assert body["document"]["status"] == "valid"


def test_verify_refuses_a_non_pdf(client):
    response = client.post("/api/v1/verify", {"file": SimpleUploadedFile("x.pdf", b"MZ\x90\x00")}, **EN)

    assert response.status_code == 400
    assert response.json() == {
        "code": "file_rejected",
        "detail": "This kind of file is not accepted. Accepted: PDF.",
        "errors": {"file": ["This kind of file is not accepted. Accepted: PDF."]},
    }
