"""The escalation policy in plain words, for the employees it applies to: what happens, who
is told, who is responsible and how long they have, in the reader's language.

A pure function of the rules: the words come from the small phrase books below, the
plurals, lists, durations and dates from CLDR through Babel, so a Dutch reader reads
"binnen 3 dagen" and "HR en je leidinggevende". Internal notes never get here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_date
from babel.lists import format_list
from babel.units import format_unit

from incidents.domain import OWNER_MANAGER
from incidents.policy.evaluation import EscalationRuleLike
from incidents.policy.signoff import group_of

LANGUAGES = ("en", "nl")
DEFAULT_LANGUAGE = "en"
MAX_ACCEPT_LANGUAGE_ENTRIES = 20

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "any_incident": "any incident",
        "an_incident": "an incident",
        "of_severity": "of {severities} severity",
        "about": "about {categories}",
        "history": ", if in the last {window} you had {counts}",
        "nobody_else": "nobody beyond those handling it",
        "told": "Who is told: {contacts}.",
        "responsible": "{owner} is responsible and responds within {deadline}.",
        "suspends": "While it is handled, your ambassador role is suspended.",
        "intro": "The rules are checked in order; the first one that fits an incident "
        "decides what happens.",
        "agreed": "Agreed by {approvers}; in force since {date}.",
        "in_force": "In force since {date}.",
        "prior_one": "at least {n} earlier incident",
        "prior_other": "at least {n} earlier incidents",
        "remedial_one": "completed at least {n} remedial coaching programme",
        "remedial_other": "completed at least {n} remedial coaching programmes",
        "group": "the {name} group",
        "see_also": "See also: {references}.",
        "clause": "{policy}, clause {clause}",
        "missed": "If {owner} misses the deadline, {parties} {verb} told.",
        "missed_nobody": "If {owner} misses the deadline, nobody else is told.",
        "owner_manager": "your manager's manager",
    },
    "nl": {
        "any_incident": "elk incident",
        "an_incident": "een incident",
        "of_severity": "met ernst {severities}",
        "about": "over {categories}",
        "history": ", als je in de afgelopen {window} {counts} had",
        "nobody_else": "niemand anders dan wie het afhandelt",
        "told": "Wie wordt ingelicht: {contacts}.",
        "responsible": "{owner} is verantwoordelijk en reageert binnen {deadline}.",
        "suspends": "Zolang het wordt afgehandeld, is je ambassadeursrol geschorst.",
        "intro": "De regels worden op volgorde bekeken; de eerste die bij een incident past, "
        "bepaalt wat er gebeurt.",
        "agreed": "Goedgekeurd door {approvers}; geldig sinds {date}.",
        "in_force": "Geldig sinds {date}.",
        "prior_one": "minstens {n} eerder incident",
        "prior_other": "minstens {n} eerdere incidenten",
        "remedial_one": "minstens {n} coachingtraject afgerond",
        "remedial_other": "minstens {n} coachingtrajecten afgerond",
        "group": "de groep {name}",
        "see_also": "Zie ook: {references}.",
        "clause": "{policy}, artikel {clause}",
        "missed": "Haalt {owner} de termijn niet, dan {verb} {parties} ingelicht.",
        "missed_nobody": "Haalt {owner} de termijn niet, dan wordt niemand anders ingelicht.",
        "owner_manager": "de leidinggevende van je leidinggevende",
    },
}

SEVERITIES = {
    "en": {"low": "low", "medium": "medium", "high": "high", "critical": "critical"},
    "nl": {"low": "laag", "medium": "gemiddeld", "high": "hoog", "critical": "kritiek"},
}
CATEGORIES = {
    "en": {
        "confidential_information": "confidential information",
        "harassment_or_hate": "harassment or hate",
        "speaking_without_mandate": "speaking for the company without a mandate",
        "misleading_claims": "misleading claims",
        "privacy_of_others": "the privacy of others",
        "inappropriate_content": "inappropriate content",
        "other": "something else",
    },
    "nl": {
        "confidential_information": "vertrouwelijke informatie",
        "harassment_or_hate": "intimidatie of haat",
        "speaking_without_mandate": "spreken namens het bedrijf zonder mandaat",
        "misleading_claims": "misleidende beweringen",
        "privacy_of_others": "de privacy van anderen",
        "inappropriate_content": "ongepaste inhoud",
        "other": "iets anders",
    },
}
ACTIONS = {
    "en": {
        "coaching": "a coach works with you on what went wrong",
        "manager_review": "your manager reviews what happened with you",
        "hr_review": "HR reviews what happened",
        "legal_review": "Legal reviews what happened",
        "disciplinary_review": "a disciplinary review is started",
    },
    "nl": {
        "coaching": "een coach werkt met je aan wat er misging",
        "manager_review": "je leidinggevende bespreekt met je wat er gebeurde",
        "hr_review": "HR beoordeelt wat er gebeurde",
        "legal_review": "de juridische afdeling beoordeelt wat er gebeurde",
        "disciplinary_review": "er volgt een disciplinair onderzoek",
    },
}
# Who is told (contacts) and who is responsible (owner roles), by the same names.
PARTIES = {
    "en": {"manager": "your manager", "hr": "HR", "legal": "Legal", "coach": "a coach"},
    "nl": {
        "manager": "je leidinggevende",
        "hr": "HR",
        "legal": "de juridische afdeling",
        "coach": "een coach",
    },
}
APPROVERS = {
    "en": {"hr": "HR", "legal": "Legal", "policy_owner": "the policy owners", "admin": "admin"},
    "nl": {
        "hr": "HR",
        "legal": "de juridische afdeling",
        "policy_owner": "de beleidseigenaren",
        "admin": "de beheerders",
    },
}


@dataclass(frozen=True, slots=True)
class PlainRule:
    applies_to: str
    what_happens: str
    who_is_told: str
    responsible: str
    respond_within: str
    if_deadline_missed: str
    ambassador: str | None
    see_also: str | None
    text: str


def language_for(accept_language: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header (English otherwise)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    weighted: list[tuple[float, str]] = []
    for entry in accept_language.split(",")[:MAX_ACCEPT_LANGUAGE_ENTRIES]:
        tag, _, params = entry.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            weighted.append((quality, tag.strip().replace("_", "-")))
    preferred = [tag for _, tag in sorted(weighted, key=lambda item: -item[0])]
    return negotiate_locale(preferred, LANGUAGES, sep="-") or DEFAULT_LANGUAGE


class ReadableRule(EscalationRuleLike, Protocol):
    """What the rendering reads of a rule: its conditions and what it does."""

    @property
    def action(self) -> str: ...
    @property
    def contacts(self) -> Sequence[str]: ...
    @property
    def owner_role(self) -> str: ...
    @property
    def deadline_hours(self) -> int: ...
    @property
    def suspends_ambassador(self) -> bool: ...
    @property
    def references(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def on_deadline_missed(self) -> Sequence[str]: ...


def render_rule(rule: ReadableRule, *, language: str) -> PlainRule:
    """One rule in plain words."""
    say = PHRASES[language]
    applies_to = _capitalised(_applies_to(rule, language))
    what = ACTIONS[language][rule.action]
    told = (
        format_list([_party(c, language) for c in rule.contacts], locale=language)
        or say["nobody_else"]
    )
    owner = _capitalised(PARTIES[language][rule.owner_role])
    within = duration(rule.deadline_hours, language)
    ambassador = say["suspends"] if rule.suspends_ambassador else None
    see_also = None
    if rule.references:
        clauses = [say["clause"].format(**reference) for reference in rule.references]
        see_also = say["see_also"].format(references=format_list(clauses, locale=language))
    missed = _if_missed(rule.on_deadline_missed, owner_role=rule.owner_role, language=language)
    text = " ".join(
        part
        for part in (
            f"{applies_to}: {what}.",
            say["told"].format(contacts=told),
            say["responsible"].format(owner=owner, deadline=within),
            missed,
            ambassador,
            see_also,
        )
        if part
    )
    return PlainRule(
        applies_to=applies_to,
        what_happens=_capitalised(what),
        who_is_told=told,
        responsible=owner,
        respond_within=within,
        if_deadline_missed=missed,
        ambassador=ambassador,
        see_also=see_also,
        text=text,
    )


def _if_missed(parties: Sequence[str], *, owner_role: str, language: str) -> str:
    """ "If your manager misses the deadline, your manager's manager and HR are told."

    The owner's manager is someone only when the owner is a person (the manager); a role
    the owner holds is told as the owner already."""
    say = PHRASES[language]
    names = [
        say["owner_manager"] if party == OWNER_MANAGER else _party(party, language)
        for party in parties
        if party != owner_role and (party != OWNER_MANAGER or owner_role == "manager")
    ]
    owner = PARTIES[language][owner_role]
    if not names:
        return _capitalised(say["missed_nobody"].format(owner=owner))
    verb = {"en": ("is", "are"), "nl": ("wordt", "worden")}[language][len(names) > 1]
    told = format_list(names, locale=language)
    return _capitalised(say["missed"].format(owner=owner, parties=told, verb=verb))


def intro(language: str) -> str:
    return PHRASES[language]["intro"]


def agreed(approvers: Sequence[str], since: dt.datetime | None, language: str) -> str | None:
    """ "Agreed by HR and Legal; in force since 3 December 2026." (``None`` if unpublished)."""
    if since is None:
        return None
    date = format_date(since.date(), format="long", locale=language)
    if not approvers:
        return PHRASES[language]["in_force"].format(date=date)
    names = format_list([_approver(a, language) for a in approvers], locale=language)
    return PHRASES[language]["agreed"].format(approvers=names, date=date)


def duration(hours: int, language: str) -> str:
    """Exact, in the largest whole unit: 168 h is "1 week", 72 h "3 days", 36 h "36 hours"."""
    if hours % (24 * 7) == 0:
        return format_unit(hours // (24 * 7), "duration-week", locale=language)
    if hours % 24 == 0:
        return format_unit(hours // 24, "duration-day", locale=language)
    return format_unit(hours, "duration-hour", locale=language)


def _applies_to(rule: EscalationRuleLike, language: str) -> str:
    say = PHRASES[language]
    parts = []
    if rule.severities:
        names = [SEVERITIES[language][s] for s in rule.severities]
        parts.append(say["of_severity"].format(severities=_or(names, language)))
    if rule.categories:
        names = [CATEGORIES[language][c] for c in rule.categories]
        parts.append(say["about"].format(categories=_or(names, language)))
    text = " ".join([say["an_incident"], *parts]) if parts else say["any_incident"]
    counts = []
    if rule.min_prior_incidents is not None:
        counts.append(_plural(say, "prior", rule.min_prior_incidents, language))
    if rule.min_completed_remedial is not None:
        counts.append(_plural(say, "remedial", rule.min_completed_remedial, language))
    if counts:
        window = duration(rule.window_days * 24, language)
        text += say["history"].format(counts=format_list(counts, locale=language), window=window)
    return text


def _plural(say: dict[str, str], key: str, n: int, language: str) -> str:
    form = "one" if Locale.parse(language).plural_form(n) == "one" else "other"
    return say[f"{key}_{form}"].format(n=n)


def _or(names: list[str], language: str) -> str:
    return format_list(names, style="or", locale=language)


def _party(contact: str, language: str) -> str:
    group = group_of(contact)
    if group is not None:
        return PHRASES[language]["group"].format(name=group)
    return PARTIES[language][contact]


def _approver(approver: str, language: str) -> str:
    group = group_of(approver)
    if group is not None:
        return PHRASES[language]["group"].format(name=group)
    return APPROVERS[language].get(approver, approver)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
