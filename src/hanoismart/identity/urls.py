from hanoismart.identity.views import accounts, connected_apps, developer, staff

app_name = "identity"

urlpatterns = [
    *accounts.urlpatterns,
    *staff.urlpatterns,
    *connected_apps.urlpatterns,
    *developer.urlpatterns,
]
