"""loyalty's pages: portal sign-in (``auth``), the customer portal (``portal``) and the staff
pages (``staff``)."""

from loyalty.views.auth import (
    PortalLinkLoginView,
    PortalLoginView,
    portal_link_request,
)
from loyalty.views.portal import (
    portal_history,
    portal_home,
    portal_language,
    portal_preferences,
    portal_redeem,
    portal_referrals,
    portal_rewards,
    portal_signup,
    portal_voucher,
    portal_vouchers,
)
from loyalty.views.staff import (
    contact_adjust,
    contact_redeem,
    contact_referral,
    overview,
    redemption_cancel_view,
)

__all__ = [
    "PortalLinkLoginView",
    "PortalLoginView",
    "contact_adjust",
    "contact_redeem",
    "contact_referral",
    "overview",
    "portal_history",
    "portal_home",
    "portal_language",
    "portal_link_request",
    "portal_preferences",
    "portal_redeem",
    "portal_referrals",
    "portal_rewards",
    "portal_signup",
    "portal_voucher",
    "portal_vouchers",
    "redemption_cancel_view",
]
