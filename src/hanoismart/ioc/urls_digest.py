"""The leaders' digest's pages (``views_digest``), in their own namespace ``ioc_digest``; the project's URLs
include them beside the operations center's."""

from django.urls import path

from hanoismart.ioc import views_digest

app_name = "ioc_digest"

urlpatterns = [
    path("ioc/digest/", views_digest.digest_download, name="download"),
    path("ioc/digests/", views_digest.digest_settings, name="settings"),
]
