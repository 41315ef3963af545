"""What loyalty does when crm calls its registries (``crm.hooks``); registered in ``apps.py``."""

from __future__ import annotations

from collections.abc import Callable

from loyalty import demo, services


def on_purchase_recorded(*, purchase_id: int) -> None:
    """Earn the purchase's points (and upgrade), then complete a pending referral."""
    services.points_earn_for_purchase(purchase_id=purchase_id)
    services.referral_complete_for_purchase(purchase_id=purchase_id)


def on_purchase_refunded(*, refund_id: int) -> None:
    services.points_reverse_for_refund(refund_id=refund_id)


def on_contact_merged(*, survivor_id: int, merged_id: int) -> None:
    services.accounts_merge(survivor_id=survivor_id, merged_id=merged_id)


def on_demo_seed(*, write: Callable[[str], None] = print) -> None:
    demo.seed_loyalty(write=write)
