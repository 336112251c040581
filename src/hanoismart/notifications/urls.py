from django.urls import path

from hanoismart.notifications import views

app_name = "notifications"

urlpatterns = [
    path("messages/", views.inbox, name="inbox"),
    path("messages/<uuid:message_id>/read", views.mark_read, name="mark_read"),
    path("messages/demo-sms/", views.demo_text_messages, name="demo_sms"),
]
