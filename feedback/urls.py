from django.urls import path

from feedback import views

app_name = "feedback"

urlpatterns = [
    path("surveys/", views.surveys, name="surveys"),
    path("tickets/", views.tickets, name="tickets"),
]
