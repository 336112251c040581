import factory
from django.core.files.base import ContentFile

from hanoismart.documents.models import Document, DocumentFile, Provenance

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class DocumentFactory(factory.django.DjangoModelFactory):
    """A paper the owner uploaded (pass ``owner_user``)."""

    class Meta:
        model = Document

    type_code = "CCCD"
    type_name = "Căn cước công dân"
    title = factory.Sequence(lambda n: f"Giấy tờ {n}")
    issuer_name = "Bộ Công an"
    provenance = Provenance.UPLOADED


def with_file(document: Document, data: bytes = PDF_BYTES, name: str = "giay-to.pdf") -> DocumentFile:
    stored = DocumentFile(
        document=document, name=name, content_type="application/pdf", size=len(data), sha256="0" * 64
    )
    stored.file.save("test.pdf", ContentFile(data), save=False)
    stored.save()
    return stored
