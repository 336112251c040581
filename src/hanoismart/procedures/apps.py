from django.apps import AppConfig


class ProceduresConfig(AppConfig):
    name = "hanoismart.procedures"
    label = "procedures"
    verbose_name = "Procedures"
