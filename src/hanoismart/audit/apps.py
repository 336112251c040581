from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "hanoismart.audit"
    label = "audit"
    verbose_name = "Audit"
