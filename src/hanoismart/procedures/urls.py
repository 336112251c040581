from django.urls import path

from hanoismart.procedures import views

app_name = "procedures"

urlpatterns = [
    path("procedures/", views.procedure_list, name="list"),
    path("procedures/<str:code>/", views.procedure_page, name="detail"),
]
