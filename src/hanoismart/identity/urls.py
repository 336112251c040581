from hanoismart.identity.views import accounts, staff

app_name = "identity"

urlpatterns = [*accounts.urlpatterns, *staff.urlpatterns]
