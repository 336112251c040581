from django.urls import path

from hanoismart.directory import views

app_name = "directory"

urlpatterns = [
    path("units/", views.units, name="units"),
]
