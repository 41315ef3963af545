"""Metric definitions (DESIGN §5): the inputs of a period, from rollups or live, and formulas."""

from analytics.metrics.formulas import METRIC_KEYS, MONEY_METRICS, Metric, metrics_for
from analytics.metrics.inputs import Filters, PeriodInputs
from analytics.metrics.live import live_inputs
from analytics.metrics.rollup import rollup_inputs

__all__ = [
    "METRIC_KEYS",
    "MONEY_METRICS",
    "Filters",
    "Metric",
    "PeriodInputs",
    "live_inputs",
    "metrics_for",
    "rollup_inputs",
]
