from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hanoismart.documents.models import Document
from hanoismart.documents.services import document_revoke, document_upload
from tests.documents.factories import DocumentFactory, with_file

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def test_my_papers_lists_the_store_with_provenance_badges(
    sign_in, personas, issue, django_assert_max_num_queries
):
    issue()
    document_upload(
        actor=personas.resident,
        type_code="CCCD",
        type_name="Căn cước công dân",
        title="Căn cước của tôi",
        upload=SimpleUploadedFile("a.pdf", PDF),
    )
    for number in range(5):
        DocumentFactory(owner_user=personas.resident, title=f"Giấy {number}")
    DocumentFactory(owner_user=personas.clerk_hoan_kiem, title="Giấy của người khác")
    client = sign_in(personas.resident)

    # Sign-in, session and navigation cost ~15 queries; the list itself two, whatever its length.
    with django_assert_max_num_queries(17):
        page = client.get("/documents/", **EN)

    html = page.content.decode()
    assert page.status_code == 200
    assert "Issued by an agency" in html
    assert "Uploaded by you, not verified" in html
    assert "Căn cước của tôi" in html
    assert "Giấy khai sinh" in html
    assert "UBND Phường Hoàn Kiếm" in html
    assert "Giấy của người khác" not in html
    assert 'href="/documents/"' in html  # the "My papers" link in the navigation


def test_my_papers_needs_sign_in(client):
    response = client.get("/documents/")

    assert response.status_code == 302
    assert response["Location"] == reverse("identity:sign_in") + "?next=/documents/"


def test_the_owner_downloads_the_signed_pdf(sign_in, personas, issue):
    document = issue()

    response = sign_in(personas.resident).get(f"/documents/{document.public_id}/file/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_another_resident_gets_404_for_the_page_and_the_file(sign_in, personas, issue):
    document = issue()
    client = sign_in(personas.clerk_other_ward)

    assert client.get(f"/documents/{document.public_id}/").status_code == 404
    assert client.get(f"/documents/{document.public_id}/file/").status_code == 404


def test_a_result_has_no_edit_page(sign_in, personas, issue):
    document = issue()
    client = sign_in(personas.resident)

    page = client.get(f"/documents/{document.public_id}/", **EN).content.decode()
    edit = client.post(f"/documents/{document.public_id}/edit/", {"title": "Sửa"})

    assert "Correct the details" not in page
    assert edit.status_code == 404
    document.refresh_from_db()
    assert document.title == "Giấy khai sinh"


def test_uploading_an_exe_is_refused_with_a_clear_message(sign_in, personas):
    client = sign_in(personas.resident)
    program = SimpleUploadedFile(
        "giay-to.exe", b"MZ\x90\x00\x03\x00 a program", content_type="application/x-msdownload"
    )

    response = client.post(
        "/documents/upload/", {"type_code": "CCCD", "title": "Căn cước", "file": program}, **EN
    )

    assert response.status_code == 400
    assert "This kind of file is not accepted. Accepted: JPEG, JPG, PDF, PNG." in response.content.decode()
    assert not Document.objects.exists()


def test_uploading_a_pdf_adds_it_to_the_store(sign_in, personas):
    client = sign_in(personas.resident)

    response = client.post(
        "/documents/upload/",
        {"type_code": "CCCD", "title": "Căn cước", "file": SimpleUploadedFile("cccd.pdf", PDF)},
    )

    document = Document.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/documents/{document.public_id}/"
    assert (document.owner_user, document.type_code, document.provenance) == (
        personas.resident,
        "CCCD",
        "uploaded",
    )


def test_verify_page_shows_the_facts_and_no_personal_data_beyond_the_printed_fields(client, personas, issue):
    document = issue()
    resident = personas.resident

    html = client.get(f"/verify/{document.public_id}/", **EN).content.decode()

    assert "The electronic signature is valid." in html
    assert "Status:</strong> valid" in html
    for fact in ("UBND Phường Hoàn Kiếm", "000.70.01.H26", "Giấy khai sinh", "15/2026/KS", "1.001193"):
        assert fact in html
    assert "000.70.01.H26-260302-0001" in html
    assert "Trần Thị Bé" in html  # printed on the paper
    assert resident.national_id not in html
    assert resident.phone not in html
    assert resident.full_name not in html  # the applicant's name is not printed on this result


def test_verify_page_says_revoked(client, personas, issue, leader):
    document = issue()
    document_revoke(actor=leader, document=document, reason="Cấp nhầm")

    html = client.get(f"/verify/{document.public_id}/", **EN).content.decode()

    assert "REVOKED by the issuing agency" in html
    assert "Cấp nhầm" in html


def test_verify_page_links_a_superseded_document_to_its_replacement(client, issue):
    old = issue()
    new = issue(dossier_code="D-2", supersedes=old)

    html = client.get(f"/verify/{old.public_id}/", **EN).content.decode()

    assert "superseded by a newer document" in html
    assert f"/verify/{new.public_id}/" in html


def test_an_owners_own_upload_is_not_public(client, personas):
    document = DocumentFactory(owner_user=personas.resident)

    assert client.get(f"/verify/{document.public_id}/").status_code == 404


def test_verify_upload_checks_a_signed_pdf(client, issue):
    document = issue()
    data = document.files.get().file.open("rb").read()

    response = client.post("/verify/", {"file": SimpleUploadedFile("kq.pdf", data)}, **EN)

    html = response.content.decode()
    assert response.status_code == 200
    assert "The electronic signature is valid." in html
    assert "Signed by UBND Phường Hoàn Kiếm" in html
    assert "Status:</strong> valid" in html


def test_verify_upload_reports_a_tampered_pdf(client, issue):
    data = bytearray(issue().files.get().file.open("rb").read())
    data[len(data) // 3] ^= 0x01

    html = client.post("/verify/", {"file": SimpleUploadedFile("kq.pdf", bytes(data))}, **EN).content.decode()

    assert "The signature is NOT valid." in html
    assert "The file was changed after it was signed." in html


def test_verify_upload_refuses_what_is_not_a_pdf(client):
    picture = SimpleUploadedFile("kq.pdf", b"\x89PNG\r\n\x1a\n....", content_type="application/pdf")

    response = client.post("/verify/", {"file": picture}, **EN)

    assert response.status_code == 400
    assert "This kind of file is not accepted. Accepted: PDF." in response.content.decode()


def test_a_shared_link_shows_the_document_to_anyone_until_ended(client, sign_in, personas, issue):
    document = issue()
    owner = sign_in(personas.resident)

    made = owner.post(f"/documents/{document.public_id}/share/", {"days": "7"}, follow=True, **EN)
    link = made.content.decode().split("shown only once: ")[1].split("<")[0].strip()
    path = link.replace("http://testserver", "")
    shown = client.get(path, **EN)
    share = document.shares.get()
    owner.post(f"/documents/{document.public_id}/shares/{share.public_id}/revoke/")

    assert shown.status_code == 200
    assert "Giấy khai sinh" in shown.content.decode()
    assert client.get(path + "file/").status_code == 404
    assert client.get(path).status_code == 404


def test_uploaded_own_paper_file_for_others_is_404(sign_in, personas):
    document = DocumentFactory(owner_user=personas.resident)
    with_file(document)

    assert sign_in(personas.resident).get(f"/documents/{document.public_id}/file/").status_code == 200
    assert sign_in(personas.clerk_hoan_kiem).get(f"/documents/{document.public_id}/file/").status_code == 404
