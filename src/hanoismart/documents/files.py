"""Checks on files put into the store: size, and a type recognised by its first bytes (not by its name or the
browser's word for it), so an executable renamed to .pdf is refused."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput

# Accepted types: the extension a component may list, its MIME type, and the signature of its first bytes.
FILE_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}
DEFAULT_ACCEPTED = ["pdf", "jpg", "jpeg", "png"]
_CHUNK = 64 * 1024


def _head(upload: Any, size: int = 16) -> bytes:
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def detect_type(upload: Any) -> str | None:
    """The extension of the type the file's first bytes show (``pdf``, ``jpg``, ``png``), or None."""
    head = _head(upload)
    for extension, (_mime, signatures) in FILE_TYPES.items():
        if any(head.startswith(signature) for signature in signatures):
            return "jpg" if extension == "jpeg" else extension
    return None


def content_type_of(extension: str) -> str:
    return FILE_TYPES.get(extension, ("application/octet-stream", ()))[0]


def upload_check(upload: Any, *, accepted_types: list[str] | None = None) -> None:
    """Refuse (InvalidInput, code ``file_rejected``) a missing or empty file, one larger than
    DOCUMENT_UPLOAD_MAX_BYTES, or one whose content is not one of ``accepted_types`` (extensions such as
    "pdf", "jpg"; default PDF, JPEG and PNG) whatever its name says."""
    if upload is None:
        raise InvalidInput(
            _("Choose a file to upload."), code="file_rejected", details={"file": [_("Required.")]}
        )
    size = getattr(upload, "size", None) or 0
    if size <= 0:
        raise InvalidInput(
            _("The file is empty."), code="file_rejected", details={"file": [_("Empty file.")]}
        )
    limit = settings.DOCUMENT_UPLOAD_MAX_BYTES
    if size > limit:
        message = _("The file is too large: at most %(size)s MB.") % {"size": f"{limit / 1024 / 1024:.0f}"}
        raise InvalidInput(message, code="file_rejected", details={"file": [message]})
    accepted = [extension.lower().lstrip(".") for extension in (accepted_types or DEFAULT_ACCEPTED)]
    detected = detect_type(upload)
    if detected is None or (detected not in accepted and not (detected == "jpg" and "jpeg" in accepted)):
        message = _("This kind of file is not accepted. Accepted: %(types)s.") % {
            "types": ", ".join(sorted({extension.upper() for extension in accepted}))
        }
        raise InvalidInput(message, code="file_rejected", details={"file": [message]})


def file_digest(upload: Any) -> tuple[str, int]:
    """The file's SHA-256 (hex) and its size in bytes, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    for chunk in iter(lambda: upload.read(_CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    return digest.hexdigest(), size
