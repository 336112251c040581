"""The document store's pages (/documents/...), shared links, and the public verification page (/verify/)."""

from django.urls import path

from hanoismart.documents import views

app_name = "documents"

urlpatterns = [
    path("documents/", views.document_list, name="list"),
    path("documents/upload/", views.document_upload_page, name="upload"),
    path("documents/<uuid:public_id>/", views.document_detail, name="detail"),
    path("documents/<uuid:public_id>/file/", views.document_file, name="file"),
    path("documents/<uuid:public_id>/edit/", views.document_edit, name="edit"),
    path("documents/<uuid:public_id>/share/", views.document_share, name="share"),
    path(
        "documents/<uuid:public_id>/shares/<uuid:share_id>/revoke/",
        views.document_share_end,
        name="share_revoke",
    ),
    path("documents/shared/<str:token>/", views.shared_document, name="shared"),
    path("documents/shared/<str:token>/file/", views.shared_document_file, name="shared_file"),
    path("verify/", views.verify_upload, name="verify"),
    path("verify/<uuid:public_id>/", views.verify_document, name="verify_document"),
]
