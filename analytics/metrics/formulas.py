"""From a period's inputs to metrics, each with its formula and the numbers put into it.

A metric whose denominator is zero has ``value`` None: "not enough data", never 0 (DESIGN §5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, DivisionByZero, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from analytics.metrics.inputs import PeriodInputs
from crm.currencies import quantize

ONE_DECIMAL = Decimal("0.1")
PERCENT, MONEY, COUNT, SCORE, MINUTES = "percent", "money", "count", "score", "minutes"
YEAR_DAYS = 365


@dataclass
class Metric:
    """One number of the dashboard; ``expression`` is the formula with the inputs filled in."""

    key: str
    label: str | Promise
    unit: str
    value: Decimal | int | None
    formula: str | Promise
    expression: str
    inputs: dict[str, Any]
    group: str
    previous: Decimal | int | None = None
    details: list[tuple[str, int]] = field(default_factory=list)

    @property
    def change(self) -> Decimal | int | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    def as_api(self) -> dict[str, Any]:
        return {
            "name": str(self.label),
            "value": _api_number(self.value, self.unit),
            "previous": _api_number(self.previous, self.unit),
            "change": _api_number(self.change, self.unit),
            "unit": self.unit,
            "formula": f"{self.formula} = {self.expression}"
            if self.expression
            else str(self.formula),
            "inputs": {k: _json(v) for k, v in self.inputs.items()},
        }


def _api_number(value: Decimal | int | None, unit: str) -> Any:
    if value is None:
        return None
    if unit == MONEY:
        return str(value)  # money stays an exact decimal string
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral() else int(value)
    return value


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _div(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    try:
        return Decimal(numerator) / Decimal(denominator)
    except (DivisionByZero, InvalidOperation, ZeroDivisionError):
        return None


def _round(value: Decimal | None, places: Decimal = ONE_DECIMAL) -> Decimal | None:
    return None if value is None else value.quantize(places, rounding=ROUND_HALF_UP)


def _pct(part: int, whole: int) -> Decimal | None:
    ratio = _div(part, whole)
    return _round(ratio * 100 if ratio is not None else None)


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else quantize(value, settings.BASE_CURRENCY)


def _n(value: Any) -> str:
    return str(value)


def _retention(i: PeriodInputs, days: int) -> Metric:
    e, n, s = i.customers_end, i.customers_new, i.customers_start
    ratio = _div(e - n, s)
    return Metric(
        "retention_rate",
        _("Customer retention rate"),
        PERCENT,
        _round(ratio * 100) if ratio is not None else None,
        _("(E - N) / S × 100"),
        f"({e} - {n}) / {s} × 100",
        {"E": e, "N": n, "S": s},
        "customers",
    )


def _churn(i: PeriodInputs, days: int) -> Metric:
    return Metric(
        "churn_rate",
        _("Churn rate"),
        PERCENT,
        _pct(i.customers_lost, i.customers_start),
        _("lost / S × 100"),
        f"{i.customers_lost} / {i.customers_start} × 100",
        {"lost": i.customers_lost, "S": i.customers_start},
        "customers",
    )


def _nps(i: PeriodInputs, days: int) -> Metric:
    total = i.nps_promoters + i.nps_passives + i.nps_detractors
    ratio = _div(i.nps_promoters - i.nps_detractors, total)
    return Metric(
        "nps",
        _("NPS"),
        SCORE,
        _round(ratio * 100) if ratio is not None else None,
        _("(promoters - detractors) / responses × 100"),
        f"({i.nps_promoters} - {i.nps_detractors}) / {total} × 100",
        {
            "promoters": i.nps_promoters,
            "passives": i.nps_passives,
            "detractors": i.nps_detractors,
            "responses": total,
        },
        "feedback",
    )


def _csat(i: PeriodInputs, days: int) -> Metric:
    return Metric(
        "csat",
        _("CSAT"),
        PERCENT,
        _pct(i.csat_satisfied, i.csat_answers),
        _("answers of 4-5 / answers × 100"),
        f"{i.csat_satisfied} / {i.csat_answers} × 100",
        {"satisfied": i.csat_satisfied, "answers": i.csat_answers},
        "feedback",
    )


def _ces(i: PeriodInputs, days: int) -> Metric:
    return Metric(
        "ces",
        _("CES"),
        SCORE,
        _round(_div(i.ces_sum, i.ces_answers), Decimal("0.01")),
        _("sum of effort scores / answers (1-7)"),
        f"{i.ces_sum} / {i.ces_answers}",
        {"sum": i.ces_sum, "answers": i.ces_answers},
        "feedback",
    )


def _revenue(i: PeriodInputs, days: int) -> Metric:
    revenue = _money(i.revenue)
    return Metric(
        "revenue",
        _("Revenue"),
        MONEY,
        revenue,
        _("Σ purchases - refunds, in the base currency"),
        f"{revenue} {settings.BASE_CURRENCY}",
        {"revenue": revenue, "orders": i.orders, "currency": settings.BASE_CURRENCY},
        "revenue",
    )


def _aov(i: PeriodInputs, days: int) -> Metric:
    revenue = _money(i.revenue)
    return Metric(
        "average_order_value",
        _("Average order value"),
        MONEY,
        _money(_div(i.revenue, i.orders)),
        _("revenue / orders"),
        f"{revenue} / {i.orders}",
        {"revenue": revenue, "orders": i.orders},
        "revenue",
    )


def _cltv(i: PeriodInputs, days: int) -> Metric:
    value = _div(i.revenue, i.orders)
    per_buyer = _div(i.orders, i.purchasers)
    frequency = per_buyer * YEAR_DAYS / days if per_buyer is not None else None
    churn = _div(i.customers_lost, i.customers_start)
    annual_churn = churn * YEAR_DAYS / days if churn is not None else None
    lifespan = _div(1, annual_churn) if annual_churn else None
    cltv = (
        _money(value * frequency * lifespan)
        if value is not None and frequency is not None and lifespan is not None
        else None
    )
    shown = [
        "—" if x is None else str(_round(x, Decimal("0.01")))
        for x in (value, frequency, lifespan)
    ]
    return Metric(
        "cltv",
        _("Customer lifetime value"),
        MONEY,
        cltv,
        _(
            "average order value × orders per buyer per year × lifespan (1 / annual churn)"
        ),
        " × ".join(shown),
        {
            "revenue": _money(i.revenue),
            "orders": i.orders,
            "purchasers": i.purchasers,
            "lost": i.customers_lost,
            "S": i.customers_start,
            "days": days,
        },
        "revenue",
    )


def _repeat(i: PeriodInputs, days: int) -> Metric:
    return Metric(
        "repeat_purchase_rate",
        _("Repeat purchase rate"),
        PERCENT,
        _pct(i.repeat_purchasers, i.purchasers),
        _("buyers with 2+ orders / buyers × 100"),
        f"{i.repeat_purchasers} / {i.purchasers} × 100",
        {"repeat_buyers": i.repeat_purchasers, "buyers": i.purchasers},
        "customers",
    )


def _count(
    key: str, label: Promise, attr: str, formula: Promise, group: str
) -> Callable[[PeriodInputs, int], Metric]:
    def build(i: PeriodInputs, days: int) -> Metric:
        value = getattr(i, attr)
        return Metric(
            key, label, COUNT, value, formula, _n(value), {attr: value}, group
        )

    return build


def _tiers(i: PeriodInputs, days: int) -> Metric:
    total = sum(n for _tier, n in i.tiers)
    metric = Metric(
        "tier_distribution",
        _("Members per tier"),
        COUNT,
        total if i.tiers else None,
        _("Σ members of each tier"),
        " + ".join(str(n) for _tier, n in i.tiers),
        {"tiers": {str(tier): n for tier, n in i.tiers}},
        "loyalty",
    )
    metric.details = [(str(tier), n) for tier, n in i.tiers]
    return metric


def _median(key: str, label: Promise, median_attr: str, count_attr: str):  # type: ignore[no-untyped-def]
    def build(i: PeriodInputs, days: int) -> Metric:
        count = getattr(i, count_attr)
        return Metric(
            key,
            label,
            MINUTES,
            getattr(i, median_attr),
            _("median over tickets opened in the period (business minutes)"),
            _("median of %(count)s tickets") % {"count": count},
            {"tickets": count},
            "support",
        )

    return build


def _sla(i: PeriodInputs, days: int) -> Metric:
    return Metric(
        "sla_breach_rate",
        _("SLA breach rate"),
        PERCENT,
        _pct(i.tickets_breached, i.tickets),
        _("breached tickets / tickets × 100"),
        f"{i.tickets_breached} / {i.tickets} × 100",
        {"breached": i.tickets_breached, "tickets": i.tickets},
        "support",
    )


BUILDERS: tuple[Callable[[PeriodInputs, int], Metric], ...] = (
    _retention,
    _churn,
    _repeat,
    _nps,
    _csat,
    _ces,
    _revenue,
    _aov,
    _cltv,
    _count(
        "active_members",
        _("Active loyalty members"),
        "active_members",
        _("members with points activity in the period"),
        "loyalty",
    ),
    _tiers,
    _count(
        "points_issued",
        _("Points issued"),
        "points_issued",
        _("Σ earned, bonus, referral and adjusted points"),
        "loyalty",
    ),
    _count(
        "points_redeemed",
        _("Points redeemed"),
        "points_redeemed",
        _("Σ redeemed points, net of cancelled redemptions"),
        "loyalty",
    ),
    _count(
        "points_expired",
        _("Points expired"),
        "points_expired",
        _("Σ expired points"),
        "loyalty",
    ),
    _count(
        "points_outstanding",
        _("Outstanding points (liability)"),
        "points_outstanding",
        _("Σ all points entries up to the end of the period"),
        "loyalty",
    ),
    _count(
        "tickets",
        _("Tickets opened"),
        "tickets",
        _("tickets opened in the period"),
        "support",
    ),
    _median(
        "first_response_time",
        _("Median first response"),
        "first_response_median",
        "first_responses",
    ),
    _median(
        "resolution_time",
        _("Median resolution time"),
        "resolution_median",
        "resolutions",
    ),
    _sla,
    _count(
        "outreach_sent",
        _("Messages sent"),
        "outreach_sent",
        _("outbox messages sent"),
        "outreach",
    ),
    _count(
        "outreach_failed",
        _("Messages failed"),
        "outreach_failed",
        _("outbox messages that failed"),
        "outreach",
    ),
    _count(
        "outreach_unsubscribed",
        _("Unsubscribed"),
        "unsubscribed",
        _("contacts who unsubscribed through the link"),
        "outreach",
    ),
)
METRIC_KEYS = (
    "retention_rate",
    "churn_rate",
    "repeat_purchase_rate",
    "nps",
    "csat",
    "ces",
    "revenue",
    "average_order_value",
    "cltv",
    "active_members",
    "tier_distribution",
    "points_issued",
    "points_redeemed",
    "points_expired",
    "points_outstanding",
    "tickets",
    "first_response_time",
    "resolution_time",
    "sla_breach_rate",
    "outreach_sent",
    "outreach_failed",
    "outreach_unsubscribed",
)
# Hidden from agents (the reduced view): money a business keeps to managers.
MONEY_METRICS = frozenset({"revenue", "average_order_value", "cltv"})


def metrics_for(
    current: PeriodInputs,
    days: int,
    previous: PeriodInputs | None = None,
    *,
    previous_days: int | None = None,
    hide: frozenset[str] = frozenset(),
) -> dict[str, Metric]:
    """Every metric of the period, with the previous equal period's value to compare."""
    result: dict[str, Metric] = {}
    for build in BUILDERS:
        metric = build(current, days)
        if metric.key in hide:
            continue
        if previous is not None:
            metric.previous = build(previous, previous_days or days).value
        result[metric.key] = metric
    return result
