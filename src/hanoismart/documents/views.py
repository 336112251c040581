"""Pages of the document store: "My papers" (list, detail, download, upload, corrections of one's own uploads,
shared links), the page a shared link opens, and the public /verify pages. Thin: parse, call services and
selectors, render. Another owner's document is a 404, never a 403 (ids are not to be probed)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hanoismart.common.errors import ApplicationError, NotFound
from hanoismart.documents import selectors
from hanoismart.documents.forms import DocumentDetailsForm, DocumentUploadForm, ShareForm, VerifyUploadForm
from hanoismart.documents.models import Document, DocumentFile, DocumentShare
from hanoismart.documents.services import (
    document_share_create,
    document_share_open,
    document_share_revoke,
    document_update,
    document_upload,
)
from hanoismart.documents.verification import document_public_view, uploaded_pdf_check
from hanoismart.identity.middleware import client_ip

PAGE_SIZE = 20


def _owned(request: HttpRequest, public_id: uuid.UUID) -> Document:
    try:
        return selectors.document_owned_by(actor=request.user, public_id=public_id)
    except NotFound:
        raise Http404 from None


def _apply_errors(form, error: ApplicationError) -> None:
    """Put a service's refusal on the form: per field where it says which, else on the whole form."""
    placed = False
    for field, problems in (error.details or {}).items():
        if field in form.fields:
            for problem in problems:
                form.add_error(field, str(problem))
            placed = True
    if not placed:
        form.add_error(None, str(error.message))


def _file_response(file: DocumentFile, *, inline: bool = False) -> FileResponse:
    response = FileResponse(
        file.file.open("rb"), as_attachment=not inline, filename=file.name, content_type=file.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def document_list(request: HttpRequest) -> HttpResponse:
    """My papers: every document in the signed-in person's store, newest first, 20 a page."""
    page = Paginator(selectors.documents_of(actor=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "documents/document_list.html", {"page": page})


@login_required
@require_GET
def document_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One document: its facts, its status, download, and (for valid ones) shared links."""
    document = _owned(request, public_id)
    context = {
        "document": document,
        "main_file": selectors.document_main_file(document=document),
        "shares": selectors.document_shares(actor=request.user, document=document),
        "share_form": ShareForm(),
        "verify_url": reverse("documents:verify_document", kwargs={"public_id": document.public_id}),
    }
    return render(request, "documents/document_detail.html", context)


@login_required
@require_GET
def document_file(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Download the document's file (the signed PDF of a result) — its owner only."""
    document = _owned(request, public_id)
    file = selectors.document_main_file(document=document)
    if file is None:
        raise Http404
    return _file_response(file, inline=request.GET.get("inline") == "1")


@login_required
@require_http_methods(["GET", "POST"])
def document_upload_page(request: HttpRequest) -> HttpResponse:
    """Add a paper of one's own (kept as "uploaded by you, not verified")."""
    form = DocumentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            document = document_upload(
                actor=request.user,
                type_code=data["type_code"],
                type_name=form.type_name(),
                title=data["title"],
                upload=data["file"],
                number=data["number"],
                issuer_name=data["issuer_name"],
                issued_on=data["issued_on"],
                valid_until=data["valid_until"],
            )
        except ApplicationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Your paper is in your store."))
            return redirect("documents:detail", public_id=document.public_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "documents/document_upload.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def document_edit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Correct the details of a paper one uploaded; government-issued papers have no such page."""
    document = _owned(request, public_id)
    if document.is_government_issued:
        raise Http404
    initial = {field: getattr(document, field) for field in DocumentDetailsForm.base_fields}
    form = DocumentDetailsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            document_update(actor=request.user, document=document, **form.cleaned_data)
        except ApplicationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("documents:detail", public_id=document.public_id)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "documents/document_edit.html", {"form": form, "document": document}, status=status
    )


@login_required
@require_POST
def document_share(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Make a shared link; its address is shown once, on the next page."""
    document = _owned(request, public_id)
    try:
        _share, token = document_share_create(
            actor=request.user, document=document, days=request.POST.get("days")
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        link = request.build_absolute_uri(reverse("documents:shared", kwargs={"token": token}))
        messages.success(
            request,
            _("Link made. Copy it now, it is shown only once: %(link)s") % {"link": link},
        )
    return redirect("documents:detail", public_id=document.public_id)


@login_required
@require_POST
def document_share_end(request: HttpRequest, public_id: uuid.UUID, share_id: uuid.UUID) -> HttpResponse:
    """End a shared link at once."""
    document = _owned(request, public_id)
    share = DocumentShare.objects.filter(document=document, public_id=share_id).first()
    if share is None:
        raise Http404
    document_share_revoke(actor=request.user, share=share)
    messages.success(request, _("The link no longer works."))
    return redirect("documents:detail", public_id=document.public_id)


def _open_share(request: HttpRequest, token: str) -> DocumentShare:
    try:
        return document_share_open(token=token[:100], ip=client_ip(request))
    except NotFound:
        raise Http404 from None


@require_GET
def shared_document(request: HttpRequest, token: str) -> HttpResponse:
    """What a shared link shows: the document's facts and a download, nothing else of the owner's."""
    share = _open_share(request, token)
    document = share.document
    context = {
        "share": share,
        "document": document,
        "main_file": selectors.document_main_file(document=document),
        "token": token,
    }
    response = render(request, "documents/shared_document.html", context)
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def shared_document_file(request: HttpRequest, token: str) -> HttpResponse:
    share = _open_share(request, token)
    file = selectors.document_main_file(document=share.document)
    if file is None:
        raise Http404
    return _file_response(file)


@require_GET
def verify_document(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """PUBLIC: is this document genuine and still valid? Status, issuer, type, number, dates, the dossier and
    procedure codes and the fields printed on it; nothing else about its owner."""
    try:
        document = selectors.document_for_verification(public_id=public_id)
    except NotFound:
        raise Http404 from None
    return render(request, "documents/verify_document.html", {"view": document_public_view(document)})


@require_http_methods(["GET", "POST"])
def verify_upload(request: HttpRequest) -> HttpResponse:
    """PUBLIC: upload a PDF to check its signature (and, for a result issued here, its status)."""
    form = VerifyUploadForm(request.POST or None, request.FILES or None)
    result = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = uploaded_pdf_check(form.cleaned_data["file"])
            except ApplicationError as error:
                _apply_errors(form, error)
        if result is None:
            status = 400
    return render(request, "documents/verify_upload.html", {"form": form, "result": result}, status=status)
