"""The OpenID Connect provider's pages and endpoints at /o/: the consent screen, rate-limited authorize and
token endpoints, discovery (also at the site root) and clear error pages.

django-oauth-toolkit does the protocol; these views add HanoiSmart's rules: apps must be approved, PKCE uses
S256, the resident consents per data item (remembered per app), and an app asking for a higher assurance
level than the resident holds gets no code: the resident is shown how to raise their level, and only if they
decline does the app get ``error=unmet_authentication_requirements``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import unquote_plus

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, re_path
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.forms import AllowForm
from oauth2_provider.signals import app_authorized
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import add_params_to_uri

from hanoismart.audit.services import audit_record
from hanoismart.identity.middleware import client_ip
from hanoismart.identity.models import ClientApp
from hanoismart.identity.oidc_provider import (
    ACR_VALUES,
    UNMET_AUTHENTICATION_REQUIREMENTS,
    required_level,
    token_request_needs_transaction,
)
from hanoismart.identity.rate_limits import rate_limit_hit
from hanoismart.identity.selectors.oidc import app_scopes, consents_active
from hanoismart.identity.services.oidc import consent_record

ERROR_TEMPLATE = "identity/oidc/error.html"


def _error_page(request: HttpRequest, *, title: str, message: str, status: int) -> HttpResponse:
    return render(request, ERROR_TEMPLATE, {"title": title, "message": message}, status=status)


def _key_part(client_id: str) -> str:
    """A client ID as part of a rate-limit cache key: the client chose it (spaces, control characters, any
    length), so a digest of it."""
    return hashlib.blake2b(client_id.encode(), digest_size=12).hexdigest()


def _too_many(request: HttpRequest, retry_after: int, *, as_json: bool) -> HttpResponse:
    message = _("Too many requests. Try again in %(seconds)s seconds.") % {"seconds": retry_after}
    if as_json:
        response: HttpResponse = JsonResponse(
            {"error": "rate_limited", "error_description": message}, status=429
        )
    else:
        response = _error_page(request, title=_("Too many requests"), message=message, status=429)
    response["Retry-After"] = str(retry_after)
    return response


class ConsentForm(AllowForm):
    """django-oauth-toolkit's hidden authorization fields, plus the requested assurance level."""

    acr_values = forms.CharField(required=False, widget=forms.HiddenInput())


class AuthorizeView(dot_views.AuthorizationView):
    """The authorization endpoint and the consent screen (``identity/oidc/authorize.html``)."""

    template_name = "identity/oidc/authorize.html"
    form_class = ConsentForm

    def dispatch(self, request, *args, **kwargs):
        client_id = request.GET.get("client_id") or request.POST.get("client_id") or "-"
        retry_after = rate_limit_hit(
            f"authorize:ip:{client_ip(request)}",
            f"authorize:client:{_key_part(client_id)}",
            limit=settings.OIDC_AUTHORIZE_RATE_LIMIT,
        )
        if retry_after:
            return _too_many(request, retry_after, as_json=False)
        return super().dispatch(request, *args, **kwargs)

    # -- errors: a page for anything that must not redirect, the client's redirect URI otherwise ----------

    def error_response(self, error, application, **kwargs):
        # OAuthLibMixin decides: never redirect for a bad client or redirect URI (FatalClientError).
        redirect, error_response = OAuthLibMixin.error_response(self, error, **kwargs)
        if redirect:
            return self.redirect(error_response["url"], application)
        oauth_error = error_response["error"]
        return render(
            self.request,
            ERROR_TEMPLATE,
            {
                "title": _("This app cannot sign you in"),
                "message": self._explain(oauth_error.error, getattr(oauth_error, "description", "") or ""),
                "error_code": oauth_error.error,
            },
            status=oauth_error.status_code,
        )

    @staticmethod
    def _explain(error: str, description: str) -> str:
        if error == "invalid_client" or "client_id" in description.lower():
            return _(
                "The app is not registered with HanoiSmart, or it has not been approved (or was suspended). "
                "You have not been signed in to it and none of your data was shared."
            )
        if "redirect" in description.lower():
            return _(
                "The app asked to send you back to an address it has not registered. For your safety you "
                "have not been sent there, and none of your data was shared."
            )
        return _("The app's sign-in request is not valid (%(reason)s). None of your data was shared.") % {
            "reason": description or error
        }

    def _redirect_error(
        self, application: ClientApp, credentials: dict[str, Any], error: str, description: str
    ):
        params = [("error", error), ("error_description", description)]
        if credentials.get("state"):
            params.append(("state", credentials["state"]))
        return self.redirect(add_params_to_uri(credentials["redirect_uri"], params), application)

    # -- the request --------------------------------------------------------------------------------------

    def get(self, request, *args, **kwargs):
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        application = ClientApp.objects.get(client_id=credentials["client_id"])
        if credentials.get("code_challenge_method") != "S256":
            return self._redirect_error(
                application,
                credentials,
                "invalid_request",
                "PKCE with code_challenge_method=S256 is required.",
            )
        prompt = set(request.GET.get("prompt", "").split())
        if "login" in prompt:
            return self.handle_prompt_login()

        acr_values = request.GET.get("acr_values", "")
        self.oauth2_data = {
            "application": application,
            "client_id": credentials["client_id"],
            "redirect_uri": credentials["redirect_uri"],
            "response_type": credentials["response_type"],
            "state": credentials.get("state"),
            "scopes": scopes,
            "code_challenge": credentials.get("code_challenge"),
            "code_challenge_method": credentials.get("code_challenge_method"),
            "nonce": credentials.get("nonce"),
            "claims": json.dumps(credentials["claims"]) if credentials.get("claims") else None,
        }
        level = required_level(application, acr_values)
        if request.user.assurance_level < level:
            if "none" in prompt:
                return self._redirect_error(
                    application,
                    credentials,
                    UNMET_AUTHENTICATION_REQUIREMENTS,
                    "The resident's assurance level is below the level required.",
                )
            return self._render_page("identity/oidc/raise_level.html", application, scopes, acr_values, level)

        registered = app_scopes(application)
        decisions = consents_active(request.user, application)
        decided = all(scope in decisions for scope in scopes)
        required_granted = all(decisions.get(s) for s in scopes if not registered[s].is_optional)
        if decided and required_granted and "consent" not in prompt:
            granted = [scope for scope in scopes if decisions[scope]]
            try:
                uri, _headers, _body, _status = self.create_authorization_response(
                    request=request, scopes=" ".join(granted), credentials=credentials, allow=True
                )
            except OAuthToolkitError as error:
                return self.error_response(error, application)
            return self.redirect(uri, application)
        if "none" in prompt:
            return self._redirect_error(
                application, credentials, "consent_required", "The resident has not consented yet."
            )
        return self._render_page(self.template_name, application, scopes, acr_values, level)

    def _render_page(self, template, application, scopes, acr_values, level, status=200):
        registered = app_scopes(application)
        all_scopes = settings.OAUTH2_PROVIDER["SCOPES"]
        items = [
            {
                "scope": scope,
                "label": all_scopes.get(scope, scope),
                "purpose": registered[scope].purpose if scope in registered else "",
                "is_optional": scope in registered and registered[scope].is_optional,
            }
            for scope in scopes
        ]
        form = self.get_form(self.get_form_class())
        form.initial["acr_values"] = acr_values
        context = {
            "form": form,
            "application": application,
            "items": items,
            "required_level": level,
            "required_acr": ACR_VALUES[level],
            "user_level": self.request.user.assurance_level,
        }
        return render(self.request, template, context, status=status)

    def get_initial(self):
        data = self.oauth2_data
        return {
            "redirect_uri": data.get("redirect_uri"),
            "scope": " ".join(data.get("scopes", [])),
            "nonce": data.get("nonce"),
            "client_id": data.get("client_id"),
            "state": data.get("state"),
            "response_type": data.get("response_type"),
            "code_challenge": data.get("code_challenge"),
            "code_challenge_method": data.get("code_challenge_method"),
            "claims": data.get("claims"),
        }

    def form_invalid(self, form):
        return _error_page(
            self.request,
            title=_("This app cannot sign you in"),
            message=_("The sign-in request was incomplete. Go back to the app and try again."),
            status=400,
        )

    def form_valid(self, form):
        data = form.cleaned_data
        application = ClientApp.objects.filter(client_id=data["client_id"]).first()
        if (
            application is None
            or not application.is_approved
            or not application.redirect_uri_allowed(data["redirect_uri"])
        ):
            return _error_page(
                self.request,
                title=_("This app cannot sign you in"),
                message=self._explain("invalid_client", ""),
                status=400,
            )
        credentials = {
            key: data[key]
            for key in (
                "client_id",
                "redirect_uri",
                "response_type",
                "state",
                "code_challenge",
                "code_challenge_method",
                "nonce",
            )
            if data.get(key)
        }
        if data.get("claims"):
            credentials["claims"] = data["claims"]
        decision = self.request.POST.get("decision", "")
        user = self.request.user
        ip = client_ip(self.request)
        if user.assurance_level < required_level(application, data.get("acr_values")):
            # Only the resident's explicit "no" reaches the app; anything else shows the page again.
            if decision == "decline":
                audit_record(
                    actor=user,
                    action="identity.oidc.level_declined",
                    obj=application,
                    subject=user,
                    ip=ip,
                    details={"client_id": application.client_id, "acr_values": data.get("acr_values", "")},
                )
                return self._redirect_error(
                    application,
                    credentials,
                    UNMET_AUTHENTICATION_REQUIREMENTS,
                    "The resident's assurance level is below the level required.",
                )
            self.oauth2_data = {**credentials, "scopes": data["scope"].split()}
            return self._render_page(
                "identity/oidc/raise_level.html",
                application,
                data["scope"].split(),
                data.get("acr_values", ""),
                required_level(application, data.get("acr_values")),
            )
        requested = data["scope"].split()
        registered = app_scopes(application)
        if decision != "allow":
            audit_record(
                actor=user,
                action="identity.oidc.consent_denied",
                obj=application,
                subject=user,
                ip=ip,
                details={"client_id": application.client_id, "scopes": sorted(requested)},
            )
            return self._redirect_error(
                application, credentials, "access_denied", "The resident did not allow the app."
            )
        ticked = set(self.request.POST.getlist("optional_scope"))
        known = [scope for scope in requested if scope in registered]
        granted = [s for s in known if not registered[s].is_optional or s in ticked]
        denied = [s for s in known if registered[s].is_optional and s not in ticked]
        consent_record(actor=user, app=application, granted_scopes=granted, denied_scopes=denied, ip=ip)
        unknown = [scope for scope in requested if scope not in registered]
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=self.request, scopes=" ".join(granted + unknown), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        return self.redirect(uri, application)


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(dot_views.TokenView):
    """The token endpoint, rate-limited per IP and per client; each request's writes are all or nothing (one
    transaction, or one statement: a refresh or a client-credentials grant on PostgreSQL)."""

    def dispatch(self, request, *args, **kwargs):
        client_id = request.POST.get("client_id") or _basic_auth_client_id(request) or "-"
        retry_after = rate_limit_hit(
            f"token:ip:{client_ip(request)}",
            f"token:client:{_key_part(client_id)}",
            limit=settings.OIDC_TOKEN_RATE_LIMIT,
        )
        if retry_after:
            return _too_many(request, retry_after, as_json=True)
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        # One transaction for the ID token, the tokens, the data releases and the audit events (instead of one
        # each): all of them or none. OAuth errors are answers, not exceptions, so what a refused request must
        # keep (a replayed refresh token's family, revoked) is committed too. A refresh or a grant of client
        # credentials on PostgreSQL writes all of it in one statement: no BEGIN and COMMIT around it.
        if not token_request_needs_transaction(request.POST.get("grant_type", "")):
            return super().post(request, *args, **kwargs)
        with transaction.atomic():
            return super().post(request, *args, **kwargs)

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        # django-oauth-toolkit reads the new access token back to announce it (app_authorized); only when
        # someone listens (nobody in HanoiSmart).
        if app_authorized.has_listeners(self):
            return super().authorization_flow_token_response(request, *args, **kwargs)
        _url, headers, body, status = self.create_token_response(request)
        # Always JSON (RFC 6749 5.1, 5.2), also for an error raised while saving the token, whose headers
        # oauthlib leaves bare.
        response = HttpResponse(content=body, status=status, content_type="application/json")
        for key, value in headers.items():
            response[key] = value
        response.setdefault("Cache-Control", "no-store")
        return response


def _basic_auth_client_id(request: HttpRequest) -> str:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return ""
    try:
        decoded = base64.b64decode(header[6:]).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
    return unquote_plus(decoded.partition(":")[0])


class DiscoveryView(dot_views.ConnectDiscoveryInfoView):
    """OpenID Provider metadata, with HanoiSmart's assurance levels and S256-only PKCE."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data["acr_values_supported"] = list(ACR_VALUES)
        data["code_challenge_methods_supported"] = ["S256"]
        data["grant_types_supported"] = ["authorization_code", "refresh_token", "client_credentials"]
        data["revocation_endpoint"] = self._get_endpoint_url(request, "revoke-token")
        data["introspection_endpoint"] = self._get_endpoint_url(request, "introspect")
        data["claims_parameter_supported"] = False
        data["request_parameter_supported"] = False
        data["prompt_values_supported"] = ["none", "login", "consent"]
        new = JsonResponse(data)
        new["Access-Control-Allow-Origin"] = "*"
        return new


# Names in the "oauth2_provider" namespace, as django-oauth-toolkit reverses them.
urlpatterns = [
    path("authorize/", AuthorizeView.as_view(), name="authorize"),
    path("token/", TokenView.as_view(), name="token"),
    path("revoke_token/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", dot_views.IntrospectTokenView.as_view(), name="introspect"),
    re_path(
        r"^\.well-known/openid-configuration/?$", DiscoveryView.as_view(), name="oidc-connect-discovery-info"
    ),
    path(".well-known/jwks.json", dot_views.JwksInfoView.as_view(), name="jwks-info"),
    path("userinfo/", dot_views.UserInfoView.as_view(), name="user-info"),
    path("logout/", dot_views.RPInitiatedLogoutView.as_view(), name="rp-initiated-logout"),
]
