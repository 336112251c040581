"""The dossier pages: filing and following (residents), the public lookup, the one-stop desk (staff)."""

from django.urls import path

from hanoismart.dossiers.views import desk, public, resident

app_name = "dossiers"

urlpatterns = [
    path("dossiers/", resident.my_dossiers, name="mine"),
    path("dossiers/new/<str:code>/", resident.dossier_new, name="new"),
    path("dossiers/lookup/", public.lookup, name="lookup"),
    path("tra-cuu/", public.lookup, name="lookup_vi"),
    path("dossiers/<str:code>/", resident.dossier_detail, name="detail"),
    path("dossiers/<str:code>/act/", resident.dossier_act, name="act"),
    path("dossiers/<str:code>/papers/<uuid:public_id>/", resident.paper_download, name="paper"),
    path("dossiers/<str:code>/receipt.pdf", resident.receipt_pdf, name="receipt"),
    path("desk/", desk.desk, name="desk"),
    path("desk/receive/", desk.bulk_receive, name="bulk_receive"),
    path("desk/new/", desk.desk_new, name="desk_new"),
    path("desk/dossiers/<str:code>/", desk.desk_detail, name="desk_detail"),
    path("desk/dossiers/<str:code>/act/", desk.desk_act, name="desk_act"),
    path("desk/dossiers/<str:code>/papers/<uuid:public_id>/", desk.paper_download, name="desk_paper"),
]
