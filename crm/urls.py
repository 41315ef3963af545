from django.urls import path

from crm import views
from crm.views import (
    campaigns,
    companies,
    contacts,
    message_templates,
    privacy,
    tasks,
)
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
    # Data-subject rights (Managers): export, its progress and download, and erasure.
    path(
        "contacts/<int:pk>/personal-data/export/",
        privacy.export_request,
        name="privacy_export",
    ),
    path("contacts/<int:pk>/erase/", privacy.erase, name="privacy_erase"),
    path(
        "personal-data/exports/<uuid:public_id>/",
        privacy.export_status,
        name="privacy_export_status",
    ),
    path(
        "personal-data/exports/<uuid:public_id>/download/",
        privacy.export_download,
        name="privacy_export_download",
    ),
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
    # Campaigns and message templates (agents read, managers write).
    path("outreach/campaigns/", campaigns.campaigns, name="campaigns"),
    path("outreach/campaigns/new/", campaigns.campaign_create, name="campaign_create"),
    path(
        "outreach/campaigns/preview/",
        campaigns.campaign_preview,
        name="campaign_preview",
    ),
    path("outreach/campaigns/<int:pk>/", campaigns.campaign_detail, name="campaign"),
    path(
        "outreach/campaigns/<int:pk>/edit/",
        campaigns.campaign_edit,
        name="campaign_edit",
    ),
    path(
        "outreach/campaigns/<int:pk>/test-send/",
        campaigns.campaign_test_send,
        name="campaign_test_send",
    ),
    path(
        "outreach/campaigns/<int:pk>/schedule/",
        campaigns.campaign_schedule,
        name="campaign_schedule",
    ),
    path(
        "outreach/campaigns/<int:pk>/cancel/",
        campaigns.campaign_cancel,
        name="campaign_cancel",
    ),
    path(
        "outreach/campaigns/<int:pk>/delete/",
        campaigns.campaign_delete,
        name="campaign_delete",
    ),
    path(
        "outreach/templates/",
        message_templates.message_templates,
        name="message_templates",
    ),
    path(
        "outreach/templates/onboarding/add/",
        message_templates.onboarding_step_add,
        name="onboarding_step_add",
    ),
    path(
        "outreach/templates/<int:pk>/",
        message_templates.message_template_edit,
        name="message_template",
    ),
    path(
        "outreach/templates/<int:pk>/preview/",
        message_templates.message_template_preview,
        name="message_template_preview",
    ),
    path(
        "outreach/templates/<int:pk>/delete/",
        message_templates.onboarding_step_delete,
        name="onboarding_step_delete",
    ),
    path(
        "outreach/preview-contacts/",
        message_templates.preview_contact_options,
        name="preview_contacts",
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
