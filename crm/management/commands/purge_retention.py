from typing import Any

from django.core.management.base import BaseCommand

from crm.services.privacy import privacy_retention_purge


class Command(BaseCommand):
    help = (
        "Purge what the retention settings say is no longer needed: old outbox message "
        "bodies, expired personal-data export files, stale survey invitations and old "
        "sign-in attempts. The nightly job runs the same."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = privacy_retention_purge()
        for name, count in sorted(done.items()):
            self.stdout.write(f"{name}: {count}")
        self.stdout.write(self.style.SUCCESS("Retention purge finished."))
