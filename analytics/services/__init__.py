"""Analytics writes: the rollups, and follow-up tasks from a drill-down."""

from analytics.services.followups import followup_tasks_create
from analytics.services.rollups import (
    rollups_merge_contacts,
    rollups_rebuild,
    rollups_refresh,
    segment_members_ensure,
)

__all__ = [
    "followup_tasks_create",
    "rollups_merge_contacts",
    "rollups_rebuild",
    "rollups_refresh",
    "segment_members_ensure",
]
