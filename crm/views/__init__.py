"""crm's pages, one module per concern. ``shell`` holds sign-in, home, health and the app shell."""

from crm.views.imports import (
    export_csv,
    export_vcard,
    import_list,
    import_mapping,
    import_progress,
    import_report,
    import_retry,
    import_upload,
)
from crm.views.outbox import outbox as outreach
from crm.views.outbox import outbox_message, outbox_message_retry
from crm.views.shell import (
    StaffLoginView,
    axes_username,
    coming_soon,
    health,
    home,
    language_switch,
    lockout,
)

__all__ = [
    "StaffLoginView",
    "axes_username",
    "coming_soon",
    "export_csv",
    "export_vcard",
    "health",
    "home",
    "import_list",
    "import_mapping",
    "import_progress",
    "import_report",
    "import_retry",
    "import_upload",
    "language_switch",
    "lockout",
    "outbox_message",
    "outbox_message_retry",
    "outreach",
]
