"""One way to enforce the role matrix (crm/roles.py) in views, the API and admin."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

from crm.roles import MANAGER_ROLES, STAFF_ROLES, Role, role_of

if (
    TYPE_CHECKING
):  # DRF imports these settings' classes itself: no runtime import, no cycle
    from rest_framework.request import Request
    from rest_framework.views import APIView

if TYPE_CHECKING:
    from crm.models import User

View = Callable[..., HttpResponse]


class AuthenticatedRequest(HttpRequest):
    """The request a view behind ``role_required`` receives: its user is signed in."""

    user: User


def role_required(*roles: Role) -> Callable[[View], View]:
    """Send anonymous visitors to sign in; refuse (403) signed-in users without one of ``roles``."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if role_of(request.user) not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required(*STAFF_ROLES)
manager_required = role_required(*MANAGER_ROLES)


class IsStaffMember(BasePermission):
    """API access for Admin, Manager and Agent; never for customers or anonymous callers."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return role_of(request.user) in STAFF_ROLES


class IsManager(BasePermission):
    """Manager actions (imports, merges, adjustments, settings): Admin and Manager only."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return role_of(request.user) in MANAGER_ROLES


class ManagerWritesStaffReads(BasePermission):
    """Every staff role reads; only managers and admins write."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        role = role_of(request.user)
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return role in STAFF_ROLES
        return role in MANAGER_ROLES
