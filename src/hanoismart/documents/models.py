"""The document store (kho dữ liệu điện tử của tổ chức, cá nhân): each person's and organisation's papers,
the signed results of their dossiers, papers a clerk digitised from the original, and uploads of their own;
the agencies' signing certificates; links the owner shares."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Provenance(models.TextChoices):
    RESULT = "result", _("Result of a dossier")
    DIGITISED = "digitised", _("Digitised by a clerk from the original")
    UPLOADED = "uploaded", _("Uploaded by the owner (not verified)")


class DocumentStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    REVOKED = "revoked", _("Revoked")
    SUPERSEDED = "superseded", _("Superseded")


class Document(models.Model):
    """One paper in an owner's store; government-issued ones (results, digitised) are read-only to them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type_code = models.CharField(_("document type code"), max_length=40, db_index=True)
    type_name = models.CharField(_("document type"), max_length=300, blank=True)
    title = models.CharField(_("title"), max_length=500)
    issuer_name = models.CharField(_("issuer"), max_length=300, blank=True)
    issuer_agency = models.ForeignKey(
        "directory.Agency",
        verbose_name=_("issuing agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issued_documents",
    )
    number = models.CharField(_("number (số ký hiệu)"), max_length=100, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner (person)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
    )
    owner_organisation = models.ForeignKey(
        "identity.Organisation",
        verbose_name=_("owner (organisation)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
    )
    provenance = models.CharField(_("provenance"), max_length=20, choices=Provenance.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.VALID
    )
    status_reason = models.CharField(_("reason for the status"), max_length=500, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    # The dossier this document is the result of, or was digitised for (its human code), and its procedure.
    source_dossier_code = models.CharField(_("dossier code"), max_length=60, blank=True, db_index=True)
    source_procedure_code = models.CharField(_("procedure code"), max_length=8, blank=True)
    # The fields printed on the document (what /verify may show), e.g. {"Họ và tên": "..."}.
    printed = models.JSONField(_("printed fields"), default=dict, blank=True)
    is_signed = models.BooleanField(_("electronically signed"), default=False)
    reuse_count = models.PositiveIntegerField(_("times reused"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            models.CheckConstraint(
                condition=Q(owner_user__isnull=False, owner_organisation__isnull=True)
                | Q(owner_user__isnull=True, owner_organisation__isnull=False),
                name="document_one_owner",
            ),
        ]
        indexes = [models.Index(fields=["owner_user", "type_code"], name="document_owner_type")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_government_issued(self) -> bool:
        return self.provenance != Provenance.UPLOADED


class DocumentFile(models.Model):
    """A file of a document (the signed PDF of a result, a scan, an upload), with its checksum."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(_("file"), upload_to="documents/%Y/%m/")
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    is_signed_pdf = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "id"]
        verbose_name = _("document file")
        verbose_name_plural = _("document files")

    def __str__(self) -> str:
        return self.name


class DocumentShare(models.Model):
    """A link the owner gives someone (a bank, an employer) to see and download one document until it
    expires or the owner revokes it. The token is unguessable; only its SHA-256 is stored."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="shares")
    token_digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("shared by")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    view_count = models.PositiveIntegerField(_("times opened"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("shared link")
        verbose_name_plural = _("shared links")

    def __str__(self) -> str:
        return f"{self.document} · {self.expires_at:%d/%m/%Y}"
