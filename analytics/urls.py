from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("contacts/<slug:kind>/", views.drilldown, name="drilldown"),
    path("contacts/<slug:kind>/export.csv", views.drilldown_csv, name="drilldown-csv"),
    path("export/cohorts.csv", views.cohorts_csv, name="cohorts-csv"),
    path("export/<slug:group>.csv", views.export_csv, name="export-csv"),
]
