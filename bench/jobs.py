"""``python -m bench.jobs JOB [options]``: the worker-side measurements, each in its own process
(the way a Celery worker runs them: services called directly, no HTTP).

Jobs: ``cleanup`` (forget what earlier bench runs added), ``validate`` (a sample of the
generated rows through ``full_clean``), ``import`` (a CSV file through the
import services), ``outreach`` (plan a day of birthdays, then send to a local SMTP sink).
Each prints one JSON object, including the process's peak RSS in MiB.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import random
import resource
import shutil
import sys
import time
from typing import Any

from bench.common import MANAGER_EMAIL, WORK_DIR, setup_django

IMPORT_PREFIX = "bench-import-"


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cleanup() -> dict[str, Any]:
    """Delete the contacts earlier imports created, every import job and the outbox."""
    from crm.models import Contact, ImportJob, OutboundMessage

    deleted, _detail = Contact.objects.filter(email__startswith=IMPORT_PREFIX).delete()
    OutboundMessage.objects.all().delete()
    ImportJob.objects.all().delete()
    shutil.rmtree(WORK_DIR / "media", ignore_errors=True)
    return {"deleted_rows": deleted}


def validate(sample: int) -> dict[str, Any]:
    """Generated rows pass the models' own validation, and ``search_text`` is what the
    contact services would store (``Contact.build_search_text``)."""
    from django.core.exceptions import ValidationError

    from crm.models import Contact, Purchase

    problems: list[str] = []
    contacts = Contact.objects.select_related("company").order_by("?")[:sample]
    for contact in contacts:
        try:
            contact.full_clean(exclude=["search_text"], validate_unique=False)
        except ValidationError as exc:
            problems.append(f"contact {contact.pk}: {exc.message_dict}")
        if contact.search_text != contact.build_search_text():
            problems.append(f"contact {contact.pk}: search_text differs")
    for purchase in Purchase.objects.order_by("?")[:sample]:
        try:
            purchase.full_clean(validate_unique=False)
        except ValidationError as exc:
            problems.append(f"purchase {purchase.pk}: {exc.message_dict}")
    return {"checked": sample * 2, "problems": problems[:10], "ok": not problems}


def import_csv(rows: int) -> dict[str, Any]:
    """Import a CSV of ``rows`` lines: ~88% new contacts, ~10% updates of existing ones (the
    email dedupe), ~2% invalid rows that must be rejected with a reason."""
    import phonenumbers
    from django.core.files.uploadedfile import SimpleUploadedFile

    from crm.models import Contact, User
    from crm.services.imports import import_job_create, import_job_run

    rng = random.Random(7)
    existing = list(
        Contact.objects.exclude(email="")
        .exclude(email__startswith=IMPORT_PREFIX)
        .order_by("id")
        .values_list("email", "given_name", "family_name")[: max(rows // 10, 1)]
    )
    run_id = int(time.time())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["First Name", "Last Name", "Email", "Phone", "Country", "Birthday", "Company"]
    )
    expected = {"created": 0, "updated": 0, "rejected": 0}
    for index in range(rows):
        roll = rng.random()
        if roll < 0.02:
            writer.writerow(
                ["", "", f"not-an-email-{index}", "", "KR", "1990-02-30", ""]
            )
            expected["rejected"] += 1
        elif roll < 0.12 and existing:
            email, given, family = existing[index % len(existing)]
            writer.writerow([given, family, email.upper(), "", "", "", ""])
            expected["updated"] += 1
        else:
            given, family = rng.choice(
                [("Minji", "Kim"), ("서연", "이"), ("Ana", "Silva")]
            )
            phone = ""
            while not phone:
                number = phonenumbers.parse(f"+8210{rng.randrange(10**7, 10**8)}")
                if phonenumbers.is_valid_number(number):
                    phone = phonenumbers.format_number(
                        number, phonenumbers.PhoneNumberFormat.E164
                    )
            writer.writerow(
                [given, family, f"{IMPORT_PREFIX}{run_id}-{index}@example.com",
                 phone, rng.choice(["KR", "US", "DE"]),
                 f"{rng.randrange(1960, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                 rng.choice(["", "Acme", "한빛"])]
            )  # fmt: skip
            expected["created"] += 1
    data = buffer.getvalue().encode()
    # A row repeating an email already in the file updates the contact the file created.
    actor = User.objects.get(email=MANAGER_EMAIL)
    started = time.perf_counter()
    job = import_job_create(
        upload=SimpleUploadedFile("bench.csv", data, content_type="text/csv"),
        actor=actor,
    )
    result = import_job_run(job_id=job.pk)
    elapsed = time.perf_counter() - started
    assert result is not None
    return {
        "rows": rows,
        "seconds": round(elapsed, 3),
        "rows_per_s": round(rows / elapsed, 1),
        "status": result.status,
        "created": result.created_count,
        "updated": result.updated_count,
        "rejected": result.rejected_count,
        "expected": expected,
        "ok": result.status == "done"
        and (result.created_count, result.updated_count, result.rejected_count)
        == (expected["created"], expected["updated"], expected["rejected"]),
        "peak_rss_mb": peak_rss_mb(),
    }


def outreach(*, day: dt.date, smtp_port: int, min_messages: int) -> dict[str, Any]:
    """Plan the birthdays of ``day`` the way beat does (the planner run across the day, so
    every zone passes its send time), claim what is due, then send it over SMTP. When a
    day has fewer than ``min_messages`` messages, the following days are planned too (not
    timed as planning) so the send rate is measured on enough messages."""
    from django.urls import reverse

    from crm.services.outbox import outbox_claim_due, outbox_send_batch
    from crm.services.outreach import birthdays_plan

    def plan_day(start: dt.date) -> tuple[int, float, list[int]]:
        rows, seconds, claimed = 0, 0.0, []
        moment = dt.datetime.combine(start, dt.time(0, 0), tzinfo=dt.UTC)
        # Every 12 hours from UTC midnight for 36 hours: each zone's window (its 09:00 until
        # local midnight) holds at least one run, as with beat's more frequent runs.
        for _run in range(4):
            began = time.perf_counter()
            rows += birthdays_plan(now=moment)
            seconds += time.perf_counter() - began
            claimed += outbox_claim_due(now=moment, limit=100_000)
            moment += dt.timedelta(hours=12)
        return rows, seconds, claimed

    # A worker loads the URL patterns once in its life, at its first link; a fresh bench
    # process would count that (0.7 s at the large scale) as planning time.
    reverse("crm:outreach_unsubscribe", args=["warm-up"])
    planned, plan_seconds, claimed = plan_day(day)
    extra_days = 0
    while len(claimed) < min_messages and extra_days < 30:
        extra_days += 1
        _rows, _seconds, more = plan_day(day + dt.timedelta(days=extra_days))
        claimed += more
    started = time.perf_counter()
    sent = outbox_send_batch(message_ids=claimed)
    send_seconds = time.perf_counter() - started
    return {
        "day": day.isoformat(),
        "planned_rows": planned,
        "plan_seconds": round(plan_seconds, 3),
        "plan_rows_per_s": round(planned / plan_seconds, 1) if plan_seconds else None,
        "extra_days_planned": extra_days,
        "claimed": len(claimed),
        "sent": sent,
        "send_seconds": round(send_seconds, 3),
        "send_per_s": round(sent / send_seconds, 1) if send_seconds else None,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("job", choices=["cleanup", "validate", "import", "outreach"])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--day", default="")
    parser.add_argument("--smtp-port", type=int, default=0)
    parser.add_argument("--min-messages", type=int, default=200)
    args = parser.parse_args(argv)
    setup_django()
    if args.job == "cleanup":
        result = cleanup()
    elif args.job == "validate":
        result = validate(200)
    elif args.job == "import":
        result = import_csv(args.rows)
    else:
        result = outreach(
            day=dt.date.fromisoformat(args.day),
            smtp_port=args.smtp_port,
            min_messages=args.min_messages,
        )
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
