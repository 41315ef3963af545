from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loyalty.services import loyalty_verify


class Command(BaseCommand):
    help = (
        "Check the points ledger: balances equal the sum of entries, lots add up, and no "
        "redemption overdrew. Exits non-zero when anything is wrong."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = loyalty_verify()
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} ledger problem(s) found.")
        self.stdout.write(self.style.SUCCESS("The loyalty ledger is consistent."))
