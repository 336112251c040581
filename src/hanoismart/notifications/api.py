"""The signed-in person's in-app messages: ``/api/v1/me/messages``."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate
from ninja.security import django_auth

from hanoismart.common.pagination import PageNumber
from hanoismart.notifications.selectors import messages_for
from hanoismart.notifications.services import message_mark_read

router = Router(tags=["notifications"], auth=django_auth)


class MessageOut(Schema):
    id: uuid.UUID
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None
    is_read: bool


@router.get("/me/messages", response=list[MessageOut], summary="My in-app messages, newest first")
@paginate(PageNumber)
def list_my_messages(request: HttpRequest):
    return messages_for(user=request.user)


@router.post("/me/messages/{message_id}/read", response=MessageOut, summary="Mark one of my messages read")
def mark_my_message_read(request: HttpRequest, message_id: uuid.UUID):
    return message_mark_read(actor=request.user, message_id=message_id)
