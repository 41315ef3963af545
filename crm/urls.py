from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("contacts/", views.contacts, name="contacts"),
    # Contact import wizard and exports (Managers).
    path("contacts/import/", views.import_upload, name="import"),
    path(
        "contacts/import/<uuid:public_id>/",
        views.import_mapping,
        name="import_mapping",
    ),
    path(
        "contacts/import/<uuid:public_id>/progress/",
        views.import_progress,
        name="import_progress",
    ),
    path(
        "contacts/import/<uuid:public_id>/resume/",
        views.import_retry,
        name="import_retry",
    ),
    path(
        "contacts/import/<uuid:public_id>/rejected-rows.csv",
        views.import_report,
        name="import_report",
    ),
    path("contacts/imports/", views.import_list, name="imports"),
    path("contacts/export.csv", views.export_csv, name="export_csv"),
    path("contacts/export.vcf", views.export_vcard, name="export_vcard"),
    path("outreach/", views.outreach, name="outreach"),
]
