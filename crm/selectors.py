"""Reads of the crm app, scoped to what the asking user may see."""

from typing import Any

from crm.models import Company, Contact, User


def home_summary(*, user: User) -> dict[str, Any]:
    """The figures on the staff home page."""
    return {
        "contacts": Contact.objects.count(),
        "companies": Company.objects.count(),
        "my_contacts": Contact.objects.filter(owner=user).count(),
        "customers": Contact.objects.filter(
            lifecycle_stage=Contact.LifecycleStage.CUSTOMER
        ).count(),
    }
