from django.urls import path

from crm import views
from crm.views import companies, contacts, tasks
from crm.views.unsubscribe import outreach_preferences, outreach_unsubscribe

app_name = "crm"

urlpatterns = [
    path("contacts/", contacts.contacts, name="contacts"),
    path("contacts/new/", contacts.contact_create, name="contact_create"),
    path("contacts/bulk/", contacts.contacts_bulk, name="contacts_bulk"),
    path("contacts/segments/", contacts.segment_save, name="segment_save"),
    path("contacts/duplicates/", contacts.duplicates, name="duplicates"),
    path("contacts/merge/", contacts.merge, name="merge"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", contacts.contact_delete, name="contact_delete"),
    path(
        "contacts/<int:pk>/timeline/",
        contacts.timeline_entries,
        name="contact_timeline",
    ),
    path(
        "contacts/<int:pk>/interactions/",
        contacts.interaction_log,
        name="interaction_log",
    ),
    path(
        "contacts/<int:pk>/purchases/",
        contacts.purchase_record,
        name="purchase_record",
    ),
    path("contacts/<int:pk>/tasks/", contacts.task_add, name="contact_task_add"),
    path("companies/", companies.companies, name="companies"),
    path("companies/<int:pk>/", companies.company_detail, name="company"),
    path("tasks/", tasks.tasks, name="tasks"),
    path("tasks/<int:pk>/complete/", tasks.task_complete, name="task_complete"),
    path("tasks/<int:pk>/reassign/", tasks.task_reassign, name="task_reassign"),
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
    path(
        "outreach/messages/<int:pk>/",
        views.outbox_message,
        name="outreach_message",
    ),
    path(
        "outreach/messages/<int:pk>/retry/",
        views.outbox_message_retry,
        name="outreach_message_retry",
    ),
    path(
        "outreach/unsubscribe/<str:token>/",
        outreach_unsubscribe,
        name="outreach_unsubscribe",
    ),
    path(
        "outreach/preferences/<str:token>/",
        outreach_preferences,
        name="outreach_preferences",
    ),
]
