from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "hanoismart.common"
    label = "common"
    verbose_name = "Common"
