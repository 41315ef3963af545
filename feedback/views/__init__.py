"""feedback's staff and public pages, one module per concern
(surveys: ``feedback.views.surveys`` and ``.public``; tickets: ``feedback.views.tickets``)."""
