"""Signal receivers that only record: sign-ins, failed sign-ins and sign-outs go to the audit
log (connected in ``CrmConfig.ready``). No business logic lives here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.http import HttpRequest

from crm.services.audit_events import (
    sign_in_failed_record,
    sign_in_record,
    sign_out_record,
)


def on_signed_in(
    sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any
) -> None:
    sign_in_record(request=request, user=user)


def on_sign_in_failed(
    sender: Any,
    credentials: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    sign_in_failed_record(request=request, credentials=credentials or {})


def on_signed_out(
    sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any
) -> None:
    sign_out_record(request=request, user=user)


def connect() -> None:
    user_logged_in.connect(on_signed_in, dispatch_uid="crm.audit.signed_in")
    user_login_failed.connect(on_sign_in_failed, dispatch_uid="crm.audit.failed")
    user_logged_out.connect(on_signed_out, dispatch_uid="crm.audit.signed_out")
