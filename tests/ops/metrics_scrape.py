"""Reading a `/metrics` scrape the way Prometheus does."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """(sample name, labels) -> value, for every sample in a scrape."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def families(text: str) -> set[str]:
    """The series a scrape declares (with or without samples yet)."""
    return {family.name for family in text_string_to_metric_families(text)}


def value(text: str, name: str, **labels: str) -> float:
    """A sample's value; 0 when it has not been recorded yet."""
    return samples(text).get((name, frozenset(labels.items())), 0.0)
