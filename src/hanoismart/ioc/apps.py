from django.apps import AppConfig


class IocConfig(AppConfig):
    name = "hanoismart.ioc"
    label = "ioc"
    verbose_name = "IOC"
