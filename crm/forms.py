from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from crm.roles import STAFF_ROLES, role_of


class _EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].widget.attrs["autocomplete"] = "current-password"


class StaffAuthenticationForm(_EmailAuthenticationForm):
    """Staff sign-in; customers are pointed to the portal instead."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if role_of(user) not in STAFF_ROLES:
            raise forms.ValidationError(
                _(
                    "This sign-in is for staff. Customers sign in at the loyalty portal."
                ),
                code="not_staff",
            )


class CustomerAuthenticationForm(_EmailAuthenticationForm):
    """Portal sign-in for customers; staff accounts have no loyalty account to show."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if role_of(user) in STAFF_ROLES:
            raise forms.ValidationError(
                _(
                    "Staff accounts cannot sign in to the customer portal. Use the staff sign-in."
                ),
                code="staff",
            )
