from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("contacts/", views.contacts, name="contacts"),
    path("outreach/", views.outreach, name="outreach"),
]
