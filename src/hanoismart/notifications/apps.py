from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "hanoismart.notifications"
    label = "notifications"
    verbose_name = "Notifications"
