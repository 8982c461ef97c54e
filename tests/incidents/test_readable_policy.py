"""The published scheme as employees read it: each rule in plain words in English or Dutch,
who agreed to it, and never HR's internal notes."""

from __future__ import annotations

import pytest

from incidents.policy.rendering import duration, language_for
from kit.db import utcnow
from tests.incidents.conftest import Org, publish_rules
from tests.support.stack import StackHandle

POLICY = "/api/v1/incidents/escalation-policy"


class TestEmployeesReadTheScheme:
    async def test_an_employee_reads_each_rule_in_plain_english(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.employee).get(POLICY)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["language"] == "en"
        assert response.headers["Content-Language"] == "en"
        assert "notes" not in body
        assert body["rules"][0]["action"] == "legal_review"
        assert body["rules"][0]["plain"]["text"] == (
            "An incident of critical severity: Legal reviews what happened. Who is told: "
            "Legal and HR. Legal is responsible and responds within 1 day. If Legal misses "
            "the deadline, HR is told. While it is handled, your ambassador role is suspended."
        )
        assert body["rules"][1]["plain"]["applies_to"] == (
            "Any incident, if in the last 365 days you had at least 2 earlier incidents and "
            "completed at least 1 remedial coaching programme"
        )
        low = body["rules"][5]["plain"]
        assert (low["who_is_told"], low["respond_within"], low["ambassador"]) == (
            "nobody beyond those handling it",
            "2 weeks",
            None,
        )

    async def test_a_dutch_reader_gets_dutch_from_their_browser_language(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.employee).get(
            POLICY, headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.8"}
        )

        body = response.json()
        assert body["language"] == "nl"
        assert response.headers["Content-Language"] == "nl"
        assert body["rules"][3]["plain"]["text"] == (
            "Een incident met ernst hoog: HR beoordeelt wat er gebeurde. Wie wordt ingelicht: "
            "HR en je leidinggevende. HR is verantwoordelijk en reageert binnen 3 dagen. "
            "Haalt HR de termijn niet, dan wordt niemand anders ingelicht. "
            "Zolang het wordt afgehandeld, is je ambassadeursrol geschorst."
        )
        assert body["rules"][2]["plain"]["applies_to"] == (
            "Elk incident, als je in de afgelopen 365 dagen minstens 1 eerder incident en "
            "minstens 1 coachingtraject afgerond had"
        )
        assert body["intro"].startswith("De regels worden op volgorde bekeken")

    async def test_the_lang_parameter_wins_over_the_browser_language(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.employee).get(
            f"{POLICY}?lang=nl", headers={"Accept-Language": "en"}
        )

        assert response.json()["rules"][4]["plain"]["respond_within"] == "1 week"
        assert response.json()["rules"][5]["plain"]["respond_within"] == "2 weken"

    async def test_a_language_we_do_not_write_is_a_422_naming_those_we_do(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.employee).get(f"{POLICY}?lang=de")

        assert response.status_code == 422
        assert "'en' or 'nl'" in response.json()["errors"][0]["detail"]

    async def test_a_signed_off_version_says_who_agreed_and_hides_hrs_notes(
        self, stack: StackHandle, org: Org
    ) -> None:
        def shorter_low_deadline(rules: list[dict[str, object]]) -> None:
            rules[-1]["deadline_hours"] = 36

        await publish_rules(stack, org, shorter_low_deadline)

        response = await stack.as_user(org.employee).get(POLICY, headers={"Accept-Language": "nl"})

        body = response.json()
        today = utcnow().date()
        months = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus"]
        months += ["september", "oktober", "november", "december"]
        assert body["number"] == 2
        assert [a["approver"] for a in body["agreed_by"]] == ["hr", "legal"]
        assert body["agreed"] == (
            "Goedgekeurd door HR en de juridische afdeling; geldig sinds "
            f"{today.day} {months[today.month - 1]} {today.year}."
        )
        assert body["rules"][5]["plain"]["respond_within"] == "36 uur"
        assert "Changed by a test." not in response.text


class TestRenderingPieces:
    @pytest.mark.parametrize(
        ("hours", "language", "expected"),
        [
            (24, "en", "1 day"),
            (48, "en", "2 days"),
            (1, "en", "1 hour"),
            (336, "nl", "2 weken"),
            (24, "nl", "1 dag"),
            (25, "nl", "25 uur"),
        ],
    )
    def test_deadlines_are_exact_in_the_largest_whole_unit(
        self, hours: int, language: str, expected: str
    ) -> None:
        assert duration(hours, language) == expected

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            (None, "en"),
            ("nl-BE", "nl"),
            ("de-DE, nl;q=0.5", "nl"),
            ("fr, de", "en"),
            ("en;q=0.2, nl;q=0.8", "nl"),
            ("nl;q=0, en", "en"),
            ("nl;q=garbage, en", "en"),
        ],
    )
    def test_the_best_language_is_chosen_from_accept_language(
        self, header: str | None, expected: str
    ) -> None:
        assert language_for(header) == expected
