"""Build the daily rollups with set-based SQL: ``INSERT … SELECT … GROUP BY`` per source.

Each source is an ORM query grouped by (contact, day); its SQL is inserted as is, and the
contact-day sources are summed in one grouped ``INSERT`` so each row is written once. On
PostgreSQL a full rebuild fills a fresh copy of the contact days and swaps it in
(``analytics.services.table_swap``). A rebuild runs the sources over contact-id
ranges; a refresh recomputes every contact whose rows were created or changed since the last
run (all of that contact's days, so back-dated purchases, responses and tickets count).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zoneinfo
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Lag, Least, RowNumber, TruncDate
from django.utils import timezone

from analytics.models import (
    ContactDay,
    CustomerPeriod,
    CustomerSpan,
    RollupState,
    SegmentMember,
    TicketFact,
    TierDay,
)
from analytics.services.generation import rollups_changed
from analytics.services.parallel import (
    Helpers,
    as_completed,
    run_elsewhere,
    snapshot_export,
)
from analytics.services.table_swap import (
    fresh_table_analyze,
    fresh_table_create,
    fresh_table_drop,
    fresh_table_indexes,
    fresh_table_swap,
    rebuilt_table,
    run_statement,
    swap_supported,
)
from crm.models import Consent, Contact, OutboundMessage, Purchase, Refund, Segment
from crm.models.contacts import effective_churn_at
from crm.selectors import contact_filter
from feedback.models import Response, Survey, Ticket
from feedback.models.tickets import ticket_breached_q
from loyalty.models import LoyaltyAccount, PointsEntry, TierChange

logger = logging.getLogger(__name__)

Scope = Callable[[str], Q]
Progress = Callable[[int, int, str], None]

CHUNK = 500_000  # contact ids per rebuild step (each step reads the ledger once more)
TOUCHED_CHUNK = 5_000  # contact ids per refresh statement
REBUILD_ABOVE = 50_000  # touched contacts beyond which a refresh rebuilds everything
# A row committed a little after the previous refresh read the tables may carry an earlier
# timestamp: look back this far again (recomputing a contact twice changes nothing).
OVERLAP = dt.timedelta(minutes=5)

ENTRY = PointsEntry.Kind
CREDIT_KINDS = [ENTRY.EARN, ENTRY.BONUS, ENTRY.REFERRAL, ENTRY.ADJUST]


def company_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_day(field: str | Any) -> TruncDate:
    """The calendar day of a moment in the company's time zone (``TIME_ZONE``)."""
    return TruncDate(field, tzinfo=company_tz())


def customers_with_span() -> QuerySet[Contact]:
    """Contacts in a customer period, annotated with ``churn_at`` (effective churn, or NULL)."""
    return (
        Contact.objects.filter(customer_since__isnull=False)
        .annotate(churn_at=effective_churn_at())
        .filter(Q(churn_at__isnull=True) | Q(churn_at__gt=F("customer_since")))
    )


# --- Sources: one grouped query each -------------------------------------------------------


def _zero(expression: Any) -> Coalesce:
    return Coalesce(expression, 0)


def purchase_source(scope: Scope) -> QuerySet[Any]:
    refunded = (
        Refund.objects.filter(purchase=OuterRef("pk"))
        .order_by()
        .values("purchase")
        .annotate(total=Sum("amount_base"))
        .values("total")
    )
    money = DecimalField(max_digits=18, decimal_places=4)
    return (
        Purchase.objects.filter(scope("contact_id"))
        .order_by()
        .annotate(day=local_day("occurred_at"))
        .values("contact_id", "day")
        .annotate(
            orders=Count("pk", filter=Q(refunded_amount__lt=F("amount"))),
            revenue=Sum(
                ExpressionWrapper(
                    F("amount_base")
                    - Coalesce(
                        Subquery(refunded, output_field=money), Value(Decimal(0))
                    ),
                    output_field=money,
                )
            ),
        )
    )


def feedback_source(scope: Scope) -> QuerySet[Any]:
    kind = Survey.Kind
    return (
        Response.objects.filter(scope("contact_id"), score__isnull=False)
        .order_by()
        .annotate(day=local_day("submitted_at"))
        .values("contact_id", "day")
        .annotate(
            nps_promoters=Count("pk", filter=Q(survey__kind=kind.NPS, score__gte=9)),
            nps_passives=Count(
                "pk", filter=Q(survey__kind=kind.NPS, score__gte=7, score__lte=8)
            ),
            nps_detractors=Count("pk", filter=Q(survey__kind=kind.NPS, score__lte=6)),
            csat_satisfied=Count("pk", filter=Q(survey__kind=kind.CSAT, score__gte=4)),
            csat_answers=Count("pk", filter=Q(survey__kind=kind.CSAT)),
            ces_sum=_zero(Sum("score", filter=Q(survey__kind=kind.CES))),
            ces_answers=Count("pk", filter=Q(survey__kind=kind.CES)),
        )
    )


def points_source(scope: Scope) -> QuerySet[Any]:
    return (
        PointsEntry.objects.filter(scope("account__contact_id"))
        .order_by()
        .annotate(day=local_day("created_at"))
        .values("account__contact_id", "day")
        .annotate(
            points_issued=_zero(Sum("points", filter=Q(kind__in=CREDIT_KINDS))),
            points_redeemed=_zero(
                Sum(
                    -F("points"),
                    filter=Q(kind=ENTRY.REDEEM)
                    | Q(kind=ENTRY.REVERSE, source_type="loyalty.redemption"),
                )
            ),
            points_expired=_zero(Sum(-F("points"), filter=Q(kind=ENTRY.EXPIRE))),
            points_net=Sum("points"),
            points_entries=Count("pk"),
        )
    )


def outreach_source(scope: Scope) -> QuerySet[Any]:
    status = OutboundMessage.Status
    return (
        OutboundMessage.objects.filter(
            scope("contact_id"), status__in=[status.SENT, status.FAILED]
        )
        .order_by()
        .annotate(day=local_day(Coalesce("sent_at", "scheduled_for")))
        .values("contact_id", "day")
        .annotate(
            outreach_sent=Count("pk", filter=Q(status=status.SENT)),
            outreach_failed=Count("pk", filter=Q(status=status.FAILED)),
        )
    )


def unsubscribe_source(scope: Scope) -> QuerySet[Any]:
    return (
        Consent.objects.filter(
            scope("contact_id"),
            source=Consent.Source.UNSUBSCRIBE,
            granted=False,
        )
        .order_by()
        .annotate(day=local_day("changed_at"))
        .values("contact_id", "day")
        .annotate(unsubscribed=Count("pk"))
    )


CONTACT_DAY_SOURCES = (
    purchase_source,
    feedback_source,
    points_source,
    outreach_source,
    unsubscribe_source,
)


def span_source(scope: Scope) -> QuerySet[Any]:
    return (
        customers_with_span()
        .filter(scope("id"))
        .order_by()
        .annotate(start_day=local_day("customer_since"), end_day=local_day("churn_at"))
        .values("id", "country", "language", "owner_id", "start_day", "end_day")
    )


def _first_purchase(contact: str) -> Subquery:
    """The contact's first purchase moment (``contact`` names the contact id column)."""
    return Subquery(
        Purchase.objects.filter(contact_id=OuterRef(contact))
        .order_by()
        .values("contact_id")
        .annotate(first=Min("occurred_at"))
        .values("first"),
        output_field=DateTimeField(),
    )


def current_period_source(scope: Scope) -> QuerySet[Any]:
    """The current customer period, in the cohort of the first day the contact became a
    customer: the earlier of ``customer_since`` and the first purchase."""
    since = local_day("customer_since")
    return (
        customers_with_span()
        .filter(scope("id"))
        .order_by()
        .annotate(
            cohort_day=Least(since, Coalesce(local_day(_first_purchase("pk")), since)),
            start_day=since,
            end_day=local_day("churn_at"),
        )
        .values(
            "id",
            "country",
            "language",
            "owner_id",
            "cohort_day",
            "start_day",
            "end_day",
        )
    )


def past_period_source(scope: Scope) -> QuerySet[Any]:
    """Before the current period crm keeps only purchases: each day with a purchase keeps the
    contact a customer until the churn window has passed (DESIGN §5's implicit churn)."""
    window = dt.timedelta(days=settings.CHURN_WINDOW_DAYS)
    return (
        Purchase.objects.filter(
            scope("contact_id"),
            contact_id__in=customers_with_span().filter(scope("id")).values("pk"),
            occurred_at__lt=F("contact__customer_since"),
        )
        .order_by()
        .annotate(
            c_country=F("contact__country"),
            c_language=F("contact__language"),
            c_owner=F("contact__owner_id"),
            cohort_day=local_day(_first_purchase("contact_id")),
            start_day=local_day("occurred_at"),
            end_day=local_day(
                ExpressionWrapper(
                    F("occurred_at") + window, output_field=DateTimeField()
                )
            ),
        )
        .values(
            "contact_id",
            "c_country",
            "c_language",
            "c_owner",
            "cohort_day",
            "start_day",
            "end_day",
        )
        .distinct()
    )


def ticket_source(scope: Scope, now: dt.datetime) -> QuerySet[Any]:
    return (
        Ticket.objects.filter(scope("contact_id"))
        .order_by()
        .annotate(
            day=local_day("created_at"),
            c_country=F("contact__country"),
            c_language=F("contact__language"),
            c_owner=F("contact__owner_id"),
            is_breached=Case(When(ticket_breached_q(now), then=True), default=False),
        )
        .values(
            "id",
            "contact_id",
            "day",
            "c_country",
            "c_language",
            "c_owner",
            "first_response_minutes",
            "resolution_minutes",
            "is_breached",
        )
    )


# --- SQL plumbing ----------------------------------------------------------------------------

RENAMES = {
    "account__contact_id": "contact_id",
    "id": "ticket_id",
    "c_country": "country",
    "c_language": "language",
    "c_owner": "owner_id",
    "is_breached": "breached",
}


def _select(queryset: QuerySet[Any]) -> tuple[list[str], str, tuple[Any, ...]]:
    """The query's SQL and its column names, in the order the compiler emits them."""
    query = queryset.query
    # Django 5.2 keeps values() order in ``selected``; older versions emit fields, then annotations.
    selected = getattr(query, "selected", None)
    names = (
        list(selected) if selected else [*query.values_select, *query.annotation_select]
    )
    sql, params = query.sql_with_params()
    return [RENAMES.get(name, name) for name in names], sql, tuple(params)


def _insert(
    model: type[Any],
    queryset: QuerySet[Any],
    *,
    rename: dict[str, str] | None = None,
    table: str | None = None,
) -> None:
    """``INSERT INTO`` the model's table (or ``table``, a fresh copy of it) ``SELECT`` the
    queryset's rows."""
    columns, sql, params = _select(queryset)
    if rename:
        columns = [rename.get(c, c) for c in columns]
    table = connection.ops.quote_name(table or model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    statement = f"INSERT INTO {table} ({quoted}) {sql}"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


CONTACT_DAY_KEYS = ("contact_id", "day")
CONTACT_COLUMNS = ("country", "language", "owner_id")


def _insert_contact_days(scope: Scope, *, table: str | None = None) -> None:
    """Every contact-day source in one grouped ``INSERT`` (into ``table``, a fresh copy being
    rebuilt, or in place): each (contact, day) row is written once, with the contact's
    country, language and owner joined once, instead
    of inserted by one source and updated by the next (an update rewrites the row and every
    index entry: 15 s of a 21 s rebuild at 100,000 contacts)."""
    selects = [_select(source(scope)) for source in CONTACT_DAY_SOURCES]
    metrics = [
        c for columns, _sql, _p in selects for c in columns if c not in CONTACT_DAY_KEYS
    ]
    quote = connection.ops.quote_name
    keys = ", ".join(quote(c) for c in CONTACT_DAY_KEYS)
    nulls = {  # typed: a union resolves an untyped NULL as text
        c: f"CAST(NULL AS {ContactDay._meta.get_field(c).db_type(connection)})"
        for c in metrics
    }
    ctes: list[str] = []
    branches: list[str] = []
    params: list[Any] = []
    for index, (columns, sql, source_params) in enumerate(selects):
        name = f"source{index}"
        ctes.append(f"{name} ({', '.join(quote(c) for c in columns)}) AS ({sql})")
        values = [
            f"{quote(c) if c in columns else nulls[c]} AS {quote(c)}" for c in metrics
        ]
        branches.append(f"SELECT {keys}, {', '.join(values)} FROM {name}")
        params += source_params
    # Each metric comes from one source, grouped by (contact, day) already: a day's row takes
    # the one value there is (MAX over it and NULLs, far cheaper than a numeric SUM).
    sums = ", ".join(f"COALESCE(MAX({quote(c)}), 0) AS {quote(c)}" for c in metrics)
    contact = quote(Contact._meta.db_table)
    in_place = table is None
    table = quote(table or ContactDay._meta.db_table)
    all_columns = ", ".join(
        quote(c) for c in (*CONTACT_DAY_KEYS, *CONTACT_COLUMNS, *metrics)
    )
    picked = ", ".join(
        [f"days.{quote(c)}" for c in CONTACT_DAY_KEYS]
        + [f"{contact}.{quote(c)}" for c in CONTACT_COLUMNS]
        + [f"days.{quote(c)}" for c in metrics]
    )
    statement = (
        f"WITH {', '.join(ctes)} "
        f"INSERT INTO {table} ({all_columns}) "
        f"SELECT {picked} FROM ("
        f"SELECT {keys}, {sums} FROM ({' UNION ALL '.join(branches)}) AS parts "
        f"GROUP BY {keys}) AS days "
        f"JOIN {contact} ON {contact}.{quote('id')} = days.{quote('contact_id')}"
    )
    if in_place:  # into the indexed table: in key order, its unique index fills in turn
        statement += f" ORDER BY days.{quote('contact_id')}, days.{quote('day')}"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _build_contacts(
    scope: Scope, *, now: dt.datetime, fresh: dict[type[Any], str] | None = None
) -> None:
    """(Re)write every contact-keyed rollup row of the contacts in ``scope``: in place, or,
    for each model in ``fresh`` (a rebuild), into the empty copy of its table named there."""
    fresh = fresh or {}
    for model in CONTACT_MODELS:
        if model not in fresh:
            model.objects.filter(scope("contact_id")).delete()
    _insert_contact_days(scope, table=fresh.get(ContactDay))
    _insert(
        CustomerSpan,
        span_source(scope),
        rename={"ticket_id": "contact_id"},
        table=fresh.get(CustomerSpan),
    )
    _insert(
        CustomerPeriod,
        current_period_source(scope),
        rename={"ticket_id": "contact_id"},
        table=fresh.get(CustomerPeriod),
    )
    _insert(CustomerPeriod, past_period_source(scope), table=fresh.get(CustomerPeriod))
    _insert(TicketFact, ticket_source(scope, now), table=fresh.get(TicketFact))


def _build_segment(segment: Segment) -> None:
    table = connection.ops.quote_name(SegmentMember._meta.db_table)
    try:
        members = contact_filter(Contact.objects.all(), segment.filters)
    except ValidationError:
        logger.warning("Segment %s has filters we cannot apply; skipped.", segment.pk)
        return
    sql, params = members.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (segment_id, contact_id) "
            f"SELECT DISTINCT %s, members.pk FROM ({sql}) members",
            (segment.pk, *params),
        )


def _build_segments() -> None:
    SegmentMember.objects.all().delete()
    for segment in Segment.objects.order_by("pk"):
        _build_segment(segment)


@transaction.atomic
def segment_members_ensure(*, segment: Segment) -> bool:
    """Materialise a segment created or edited since the last refresh, so filtering by it
    at once is not empty. Returns whether it was (re)built."""
    refreshed = RollupState.objects.filter(pk=1).values_list("refreshed_at", flat=True)
    last = refreshed.first()
    if last is not None and segment.updated_at <= last:
        return False
    SegmentMember.objects.filter(segment_id=segment.pk).delete()
    _build_segment(segment)
    return True


def _build_tiers() -> None:
    """Rebuild the tier rows from the tier history in one statement.

    Each change adds the member to its tier on its day and takes them out of the tier their
    previous change put them in (window function ``LAG``); members without any change count
    in their current tier from the day their account was created. Summing the rows up to a
    day gives the distribution at the end of that day.
    """
    TierDay.objects.all().delete()
    history = Window(
        Lag("to_tier_id"),
        partition_by=[F("account_id")],
        order_by=[F("created_at").asc(), F("id").asc()],
    )
    changes = (
        TierChange.objects.order_by()
        .annotate(
            c_day=local_day("created_at"),
            c_tier=F("to_tier_id"),
            c_previous=history,
            c_seq=Window(
                RowNumber(),
                partition_by=[F("account_id")],
                order_by=[F("created_at").asc(), F("id").asc()],
            ),
            c_country=F("account__contact__country"),
            c_language=F("account__contact__language"),
            c_owner=F("account__contact__owner_id"),
        )
        .values(
            "c_day",
            "c_tier",
            "c_previous",
            "c_seq",
            "c_country",
            "c_language",
            "c_owner",
        )
    )
    unchanged = (
        LoyaltyAccount.objects.order_by()
        .exclude(pk__in=TierChange.objects.values("account_id"))
        .annotate(
            c_day=local_day("created_at"),
            c_tier=F("tier_id"),
            c_country=F("contact__country"),
            c_language=F("contact__language"),
            c_owner=F("contact__owner_id"),
        )
        .values("c_day", "c_tier", "c_country", "c_language", "c_owner")
    )
    changes_sql, changes_params = changes.query.sql_with_params()
    unchanged_sql, unchanged_params = unchanged.query.sql_with_params()
    columns = "c_day, c_country, c_language, c_owner"
    table = connection.ops.quote_name(TierDay._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, country, language, owner_id, tier_id, members) "
            f"SELECT {columns}, tier, SUM(delta) FROM ("
            f"  SELECT {columns}, c_tier AS tier, 1 AS delta FROM ({changes_sql}) a"
            f"  UNION ALL"
            f"  SELECT {columns}, c_previous AS tier, -1 AS delta FROM ({changes_sql}) b"
            f"  WHERE c_seq > 1"
            f"  UNION ALL"
            f"  SELECT {columns}, c_tier AS tier, 1 AS delta FROM ({unchanged_sql}) c"
            f") moves GROUP BY {columns}, tier HAVING SUM(delta) <> 0",
            (*changes_params, *changes_params, *unchanged_params),
        )


CONTACT_MODELS = (ContactDay, CustomerSpan, TicketFact, CustomerPeriod)


def _remove_gone_contacts() -> None:
    """Drop the rows of contacts deleted (or merged away) since the last run: an anti-join
    of each rollup table with the contacts (rollup rows only; no raw table is scanned)."""
    for model in CONTACT_MODELS:
        model.objects.filter(
            ~Exists(Contact.objects.filter(pk=OuterRef("contact_id")))
        ).delete()
    SegmentMember.objects.filter(
        ~Exists(Contact.objects.filter(pk=OuterRef("contact_id")))
    ).delete()


@transaction.atomic
def rollups_merge_contacts(*, survivor_id: int, merged_id: int) -> None:
    """The ``crm.hooks.contact_merged`` listener: inside the merge transaction, drop the
    merged contact's rows from every rollup. Its purchases, answers and tickets now belong to
    the survivor, whom the merge saves, so the next refresh recomputes the survivor with them.
    """
    for model in (*CONTACT_MODELS, SegmentMember):
        model.objects.filter(contact_id=merged_id).delete()
    rollups_changed()


def _locked_state() -> RollupState:
    RollupState.objects.get_or_create(pk=1)
    return RollupState.objects.select_for_update().get(pk=1)


def _id_ranges(step: int, *, parts: int = 1) -> list[tuple[int, int]]:
    """Contact-id ranges of at most ``step`` ids, and at least ``parts`` of them (one for each
    helper) when there are enough ids."""
    bounds = Contact.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    low, high = bounds["low"], bounds["high"]
    step = max(1, min(step, -(-(high - low + 1) // parts)))
    return [
        (start, min(start + step - 1, high)) for start in range(low, high + 1, step)
    ]


def _range_scope(low: int, high: int) -> Scope:
    def scope(path: str) -> Q:
        return Q(**{f"{path}__gte": low, f"{path}__lte": high})

    return scope


def _watermarks(state: RollupState) -> None:
    state.last_response_id = Response.objects.aggregate(m=Max("pk"))["m"] or 0
    state.last_points_entry_id = PointsEntry.objects.aggregate(m=Max("pk"))["m"] or 0


def _rebuild_helpers() -> int:
    """How many helper connections fill a rebuild's tables: none (one connection, in turn) on
    SQLite, inside a caller's transaction (helpers would not see what it wrote), where a
    contact rollup cannot be swapped, or when ``ROLLUP_REBUILD_CONNECTIONS`` is below 2."""
    wanted: int = settings.ROLLUP_REBUILD_CONNECTIONS
    if wanted < 2 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return 0
    if not all(swap_supported(model) for model in CONTACT_MODELS):
        return 0
    return wanted


def rollups_rebuild(
    *, now: dt.datetime | None = None, progress: Progress | None = None
) -> int:
    """Rebuild every rollup from the raw tables; readers keep the old numbers until commit.

    On PostgreSQL, as its own transaction, the contact-id ranges are built at once on helper
    connections reading the rebuild's snapshot. Returns the number of contact-id chunks.
    """
    now = now or timezone.now()
    started = time.monotonic()
    helpers = _rebuild_helpers()
    if helpers:
        chunks = _rebuild_on_helpers(now=now, progress=progress, helpers=helpers)
    else:
        chunks = _rebuild_in_turn(now=now, progress=progress)
    logger.info(
        "Rollups rebuilt: %d contact-id ranges on %s in %.1f s.",
        chunks,
        f"{helpers} helper connections" if helpers else "one connection",
        time.monotonic() - started,
    )
    return chunks


@transaction.atomic
def _rebuild_in_turn(*, now: dt.datetime, progress: Progress | None) -> int:
    state = _locked_state()
    _watermarks(state)
    ranges = _id_ranges(CHUNK)
    total = len(ranges) + 2
    with ExitStack() as stack:
        # Each table is filled as a fresh copy and swapped in (PostgreSQL), rather than
        # emptied row by row and refilled through its indexes.
        fresh = {
            model: stack.enter_context(rebuilt_table(model))
            for model in CONTACT_MODELS
            if swap_supported(model)
        }
        for model in CONTACT_MODELS:
            if model not in fresh:
                model.objects.all().delete()
        for index, (low, high) in enumerate(ranges, start=1):
            _build_contacts(_range_scope(low, high), now=now, fresh=fresh)
            if progress:
                progress(index, total, f"contacts {low}-{high}")
        _build_segments()
        if progress:
            progress(total - 1, total, "segments")
        _build_tiers()
        if progress:
            progress(total, total, "tiers")
        _rebuilt(state, now)
    # Leaving the block swapped the fresh table in, just before the commit: readers wait for
    # the renames only.
    return len(ranges)


def _rebuilt(state: RollupState, now: dt.datetime) -> None:
    state.refreshed_at = state.rebuilt_at = now
    state.save()
    rollups_changed()


def _rebuild_on_helpers(
    *, now: dt.datetime, progress: Progress | None, helpers: int
) -> int:
    """The rebuild's transaction locks the state, takes the watermarks and exports its
    snapshot; helpers create the fresh copies (committed, under no reader's name), fill one
    contact-id range each in that snapshot while this transaction rebuilds segments and tiers,
    then build the copies' indexes side by side. The copies are swapped in here, so readers
    see the new rows when this transaction commits, as with one connection. A failure before
    the swap drops the copies; after it, the next rebuild does."""
    with Helpers(helpers) as pool, transaction.atomic():
        state = _locked_state()  # a second rebuild waits here: the copies are ours
        _watermarks(state)  # before the snapshot: what they miss, a refresh recomputes
        swapping = False
        try:
            names = pool.run_all(
                (fresh_table_create, model) for model in CONTACT_MODELS
            )
            fresh = dict(zip(CONTACT_MODELS, names, strict=True))
            snapshot = snapshot_export()
            ranges = _id_ranges(CHUNK, parts=helpers)
            total = len(ranges) + 2
            built = [
                pool.submit(
                    _build_contacts,
                    _range_scope(low, high),
                    now=now,
                    fresh=fresh,
                    snapshot=snapshot,
                )
                for low, high in ranges
            ]
            _build_segments()
            _build_tiers()
            for index, _done in enumerate(as_completed(built), start=1):
                if progress:
                    progress(index, total, "contacts")
            if progress:
                progress(total - 1, total, "segments and tiers")
            indexes = {model: fresh_table_indexes(model) for model in CONTACT_MODELS}
            # The biggest table's indexes first, so the last to finish is a small one.
            pool.run_all(
                (run_statement, index.build)
                for model in CONTACT_MODELS
                for index in indexes[model]
            )
            pool.run_all((fresh_table_analyze, model) for model in CONTACT_MODELS)
            swapping = True
            for model in CONTACT_MODELS:
                fresh_table_swap(model, indexes[model])
            if progress:
                progress(total, total, "indexes")
            _rebuilt(state, now)
        except BaseException:
            pool.stop()  # no helper writes to a copy any more
            if not swapping:
                run_elsewhere(_drop_copies)
            raise
    return len(ranges)


def _drop_copies() -> None:
    for model in CONTACT_MODELS:
        fresh_table_drop(model)


def touched_contacts(
    *, since: dt.datetime, last_response_id: int, last_points_entry_id: int
) -> set[int]:
    """Contacts with a row created or changed since ``since`` in any source the rollups read,
    plus those with open tickets (an open ticket can breach its SLA with no write at all)."""
    since = since - OVERLAP
    status = OutboundMessage.Status
    queries: Iterable[QuerySet[Any]] = (
        Contact.objects.filter(updated_at__gte=since).values_list("pk", flat=True),
        Purchase.objects.filter(updated_at__gte=since).values_list(
            "contact_id", flat=True
        ),
        Response.objects.filter(pk__gt=last_response_id).values_list(
            "contact_id", flat=True
        ),
        PointsEntry.objects.filter(
            Q(pk__gt=last_points_entry_id) | Q(created_at__gte=since)
        ).values_list("account__contact_id", flat=True),
        Ticket.objects.filter(
            Q(updated_at__gte=since) | ~Q(status__in=Ticket.DONE_STATUSES)
        ).values_list("contact_id", flat=True),
        OutboundMessage.objects.filter(
            Q(created_at__gte=since)
            | Q(sent_at__gte=since)
            | Q(queued_at__gte=since)
            | Q(sending_at__gte=since)
            | Q(status=status.FAILED, scheduled_for__gte=since)
        ).values_list("contact_id", flat=True),
        Consent.objects.filter(changed_at__gte=since).values_list(
            "contact_id", flat=True
        ),
    )
    touched: set[int] = set()
    for query in queries:
        touched.update(query.order_by().distinct())
    return touched


def rollups_refresh(*, now: dt.datetime | None = None) -> int:
    """Bring the rollups up to date: recompute every contact touched since the last run.

    The first run (no state yet) is a full rebuild. Returns how many contacts were recomputed.
    """
    now = now or timezone.now()
    count, rebuild = _refresh_touched(now)
    if rebuild:
        # As a transaction of its own, so it can run on helper connections.
        rollups_rebuild(now=now)
    return count


@transaction.atomic
def _refresh_touched(now: dt.datetime) -> tuple[int, bool]:
    """Recompute the touched contacts; or, on the first run and past ``REBUILD_ABOVE``
    contacts (where id ranges over everything beat long ``IN`` lists), say that a rebuild is
    due instead."""
    state = _locked_state()
    if state.refreshed_at is None:
        return Contact.objects.count(), True
    touched = touched_contacts(
        since=state.refreshed_at,
        last_response_id=state.last_response_id,
        last_points_entry_id=state.last_points_entry_id,
    )
    if len(touched) > REBUILD_ABOVE:
        return len(touched), True
    _watermarks(state)
    ids = sorted(touched)
    for start in range(0, len(ids), TOUCHED_CHUNK):
        chunk = ids[start : start + TOUCHED_CHUNK]

        def scope(path: str, chunk: list[int] = chunk) -> Q:
            return Q(**{f"{path}__in": chunk})

        _build_contacts(scope, now=now)
    _remove_gone_contacts()
    _build_segments()
    _build_tiers()
    state.refreshed_at = now
    state.save()
    rollups_changed()
    return len(ids), False
