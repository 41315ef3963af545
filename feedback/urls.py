from django.urls import path

from feedback.views import public as public_views
from feedback.views import surveys as survey_views
from feedback.views import tickets as ticket_views

app_name = "feedback"

urlpatterns = [
    path("surveys/", survey_views.surveys, name="surveys"),
    path("surveys/new/", survey_views.survey_new, name="survey_new"),
    path("surveys/reviews/", survey_views.reviews, name="reviews"),
    path(
        "surveys/reviews/<int:pk>/moderate/",
        survey_views.review_moderate,
        name="review_moderate",
    ),
    path("surveys/<int:pk>/", survey_views.survey_detail, name="survey"),
    path("surveys/<int:pk>/edit/", survey_views.survey_edit, name="survey_edit"),
    path("surveys/<int:pk>/send/", survey_views.survey_send, name="survey_send"),
    path(
        "surveys/<int:pk>/preview/<str:language>/",
        survey_views.survey_preview,
        name="survey_preview",
    ),
    path(
        "surveys/<int:pk>/results.csv", survey_views.survey_export, name="survey_export"
    ),
    path("s/<str:token>/", public_views.public_survey, name="public_survey"),
    path(
        "s/<str:token>/review/",
        public_views.public_survey_review,
        name="public_survey_review",
    ),
    path("reviews/", public_views.public_reviews, name="public_reviews"),
    path("reviews/feed.json", public_views.public_reviews_feed, name="reviews_feed"),
    path("portal/review/", public_views.portal_review, name="portal_review"),
    path("tickets/", ticket_views.tickets, name="tickets"),
    path("tickets/new/", ticket_views.ticket_new, name="ticket_new"),
    path("tickets/<int:pk>/", ticket_views.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/reply/", ticket_views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:pk>/update/", ticket_views.ticket_update, name="ticket_update"),
    path("tickets/<int:pk>/tags/", ticket_views.ticket_tags, name="ticket_tags"),
    path("tickets/<int:pk>/delete/", ticket_views.ticket_delete, name="ticket_delete"),
]
