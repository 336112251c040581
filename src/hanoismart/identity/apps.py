from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "hanoismart.identity"
    label = "identity"
    verbose_name = "HanoiSmart ID"
