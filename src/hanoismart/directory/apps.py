from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "hanoismart.directory"
    label = "directory"
    verbose_name = "Directory"
