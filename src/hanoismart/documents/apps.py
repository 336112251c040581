from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "hanoismart.documents"
    label = "documents"
    verbose_name = "Documents"
