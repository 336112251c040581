from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "hanoismart.dossiers"
    label = "dossiers"
    verbose_name = "Dossiers"
