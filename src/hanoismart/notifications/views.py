"""The inbox page, and in the demo the page where visitors read the SMS codes sent to them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hanoismart.common.errors import ApplicationError
from hanoismart.notifications import selectors
from hanoismart.notifications.services import message_mark_read


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.messages_for(user=request.user), 20).get_page(request.GET.get("page"))
    context = {"page": page, "unread": selectors.unread_count(user=request.user)}
    return render(request, "notifications/inbox.html", context)


@login_required
@require_POST
def mark_read(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    try:
        message_mark_read(actor=request.user, message_id=message_id)
    except ApplicationError as exc:
        flash.error(request, exc.message)
    return redirect("notifications:inbox")


def demo_text_messages(request: HttpRequest) -> HttpResponse:
    """Only in the demo with the console gateway: nobody there has a real phone to receive the code."""
    if not (settings.DEMO_MODE and settings.SMS_GATEWAY == "console"):
        raise Http404
    return render(request, "notifications/demo_sms.html", {"texts": selectors.demo_text_messages()})
