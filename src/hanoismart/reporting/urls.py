from django.urls import path

from hanoismart.reporting import views

app_name = "reporting"

urlpatterns = [
    path("reporting/", views.desk, name="desk"),
    path(
        "reporting/start/<str:form_code>/<str:period_code>/<str:unit_code>/",
        views.submission_start,
        name="submission_start",
    ),
    path("reporting/reports/<uuid:public_id>/", views.submission_page, name="submission"),
    path("reporting/reports/<uuid:public_id>/xlsx/", views.submission_xlsx, name="submission_xlsx"),
    path("reporting/requests/new/", views.request_new, name="request_new"),
    path("reporting/forms/<str:form_code>/template.xlsx", views.template_xlsx, name="template_xlsx"),
    path("reporting/forms/<str:form_code>/", views.form_periods, name="form"),
    path("reporting/forms/<str:form_code>/<str:period_code>/review/", views.review, name="review"),
    path(
        "reporting/forms/<str:form_code>/<str:period_code>/completeness/",
        views.completeness,
        name="completeness",
    ),
    path("reporting/forms/<str:form_code>/<str:period_code>/chase/", views.chase, name="chase"),
]
