from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "hanoismart.reporting"
    label = "reporting"
    verbose_name = "Reporting"
