"""The operations center's pages, under /ioc/: overview, a KPI's breakdown, the records behind a figure, the
public-services and reporting views, the alerts feed, the map."""

from django.urls import path

from hanoismart.ioc.views import alerts, dashboard, maps, public_services, reporting

app_name = "ioc"

urlpatterns = [
    path("ioc/", dashboard.overview, name="overview"),
    path("ioc/live/", dashboard.overview_live, name="overview_live"),
    path("ioc/kpi/<str:kpi>/", dashboard.kpi_detail, name="kpi"),
    path("ioc/records/", dashboard.records, name="records"),
    path("ioc/services/", public_services.services, name="services"),
    path("ioc/reporting/", reporting.reporting, name="reporting"),
    path("ioc/reporting/chase/", reporting.chase, name="reporting_chase"),
    path("ioc/alerts/", alerts.alert_list, name="alerts"),
    path("ioc/alerts/live/", alerts.alert_list_live, name="alerts_live"),
    path("ioc/alerts/settings/", alerts.alert_settings, name="alert_settings"),
    path("ioc/alerts/<uuid:public_id>/", alerts.alert_detail, name="alert"),
    path("ioc/map/", maps.map_page, name="map"),
    path("ioc/map/data.json", maps.map_data, name="map_data"),
]
