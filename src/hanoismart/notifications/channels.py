"""Channel adapters: how one outbox message leaves the platform.

Every adapter hands the message id to the gateway as an idempotency key (a ``Message-ID`` header for
email, an ``Idempotency-Key`` header and the ``id`` field for webhooks), so a retry after a worker died
between sending and recording is a duplicate the gateway can drop.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage

from hanoismart.notifications.models import Channel, Message

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 10
# Client errors that say "try again later" rather than "this request is wrong".
_RETRYABLE_CLIENT_ERRORS = frozenset({408, 409, 425, 429})


class DeliveryError(Exception):
    """The gateway did not take the message. ``permanent`` when retrying cannot help (bad request)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class Adapter(Protocol):
    def send(self, message: Message) -> None:
        """Hand ``message`` to the gateway; return when it accepted it, raise ``DeliveryError`` if not."""


class EmailAdapter:
    """Email through Django's configured backend (SMTP in production, the console in development)."""

    def send(self, message: Message) -> None:
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.address],
            headers={"Message-ID": email_message_id(message)},
        )
        try:
            email.send(fail_silently=False)
        except (OSError, ValueError) as exc:  # smtplib errors are OSErrors; bad addresses are ValueErrors
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


def email_message_id(message: Message) -> str:
    """A Message-ID that is the same on every attempt, so mail servers can drop a re-sent copy."""
    host = urlsplit(settings.SITE_URL).hostname or "hanoismart.local"
    return f"<{message.id}@{host}>"


class WebhookAdapter:
    """POST ``{"id", "to", "body"}`` as JSON to an SMS or Zalo gateway; any non-2xx answer is a failure."""

    def __init__(self, url: str, *, timeout: float = WEBHOOK_TIMEOUT_SECONDS):
        self.url = url
        self.timeout = timeout

    def send(self, message: Message) -> None:
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise DeliveryError(f"The {message.channel} webhook URL is not configured (got {self.url!r}).")
        payload = {"id": str(message.id), "to": message.address, "body": message.body}
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            self.url,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": str(message.id),
            },
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            permanent = 400 <= exc.code < 500 and exc.code not in _RETRYABLE_CLIENT_ERRORS
            raise DeliveryError(
                f"HTTP {exc.code} from the {message.channel} gateway", permanent=permanent
            ) from exc
        except (urllib.error.URLError, OSError) as exc:  # refused, unreachable, timed out
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"{message.channel} gateway unreachable: {reason}") from exc
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status} from the {message.channel} gateway")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirecting gateway is misconfigured; urllib would otherwise re-send the POST as a bodiless GET."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class ConsoleAdapter:
    """The demo's SMS/Zalo gateway: writes the message to the log, where a demo user reads their code."""

    def send(self, message: Message) -> None:
        logger.info(
            "%s to %s (message %s): %s", message.channel.upper(), message.address, message.id, message.body
        )


def adapter_for(channel: str) -> Adapter:
    """The adapter that delivers ``channel`` under the current settings. In-app messages have none:
    the inbox reads the outbox, so they are delivered when created."""
    if channel == Channel.EMAIL:
        return EmailAdapter()
    if channel in (Channel.SMS, Channel.ZALO):
        if settings.SMS_GATEWAY == "console":
            return ConsoleAdapter()
        url = settings.SMS_WEBHOOK_URL if channel == Channel.SMS else settings.ZALO_WEBHOOK_URL
        return WebhookAdapter(url)
    raise ValueError(f"Unknown channel {channel!r}")
