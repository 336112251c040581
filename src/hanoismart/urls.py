"""Project URL wiring: each app's pages, the API, the operator site, language switching."""

from django.contrib import admin
from django.urls import include, path

from hanoismart.api import api
from hanoismart.identity.views import oidc as oidc_views

urlpatterns = [
    path("", include("hanoismart.common.urls")),
    path("", include("hanoismart.identity.urls")),
    path("", include("hanoismart.directory.urls")),
    path("", include("hanoismart.notifications.urls")),
    path("", include("hanoismart.procedures.urls")),
    path("", include("hanoismart.documents.urls")),
    path("", include("hanoismart.dossiers.urls")),
    path("", include("hanoismart.reporting.urls")),
    path("", include("hanoismart.ioc.urls")),
    path("", include("hanoismart.ioc.urls_digest")),
    path("api/v1/", api.urls),
    # The OpenID Connect provider (django-oauth-toolkit's URL names, in its "oauth2_provider" namespace).
    path("o/", include((oidc_views.urlpatterns, "oauth2_provider"), namespace="oauth2_provider")),
    # Discovery at the site root too, where most clients look first.
    path(".well-known/openid-configuration", oidc_views.DiscoveryView.as_view(), name="oidc_discovery"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("operator/", admin.site.urls),
]

handler400 = "hanoismart.common.views.bad_request"
handler403 = "hanoismart.common.views.permission_denied"
handler404 = "hanoismart.common.views.page_not_found"
handler500 = "hanoismart.common.views.server_error"
