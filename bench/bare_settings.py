"""The baseline web app: Django answering JSON from one view, with no middleware or apps.

Served by the same gunicorn command as Rapport (``bench.bare_wsgi:application``), it measures
what the machine, gunicorn and Django's request cycle cost before any Rapport code runs.
"""

from __future__ import annotations

import os

from django.http import HttpRequest, JsonResponse
from django.urls import path

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY", "bench-baseline-only")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.bare_settings"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True
DATABASES: dict[str, dict[str, str]] = {}


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "path": request.path})


urlpatterns = [path("ping/", ping)]
