from typing import Any

from django.core.management.base import BaseCommand

from crm.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo


class Command(BaseCommand):
    help = "Load realistic international demo data (idempotent: a second run adds nothing)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("Loading demo data…")
        seed_demo(write=self.stdout.write)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with:"))
        for user in DEMO_USERS:
            self.stdout.write(
                f"  {user.role.value:<9} {user.email:<28} password: {DEMO_PASSWORD}"
            )
