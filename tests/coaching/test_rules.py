"""The pure rules, without a database or network: transitions and ambassador eligibility."""

from __future__ import annotations

import uuid

import pytest

from coaching.ambassadors.rules import eligibility
from coaching.engagements.rules import check_session_transition, check_transition
from coaching.errors import IllegalTransition
from coaching.models import ApplicationStatus, EngagementStatus, SessionStatus

E = EngagementStatus
LEGAL = {
    (E.PROPOSED, E.ACTIVE),
    (E.PROPOSED, E.CANCELLED),
    (E.ACTIVE, E.COMPLETED),
    (E.ACTIVE, E.CANCELLED),
}


class TestEngagementTransitions:
    @pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
    def test_legal_transitions_pass(self, current: E, target: E) -> None:
        check_transition(current, target)

    @pytest.mark.parametrize(
        ("current", "target"),
        sorted((a, b) for a in E for b in E if (a, b) not in LEGAL),
    )
    def test_every_other_transition_is_refused(self, current: E, target: E) -> None:
        with pytest.raises(IllegalTransition):
            check_transition(current, target)


class TestSessionTransitions:
    @pytest.mark.parametrize(
        "target", [SessionStatus.HELD, SessionStatus.MISSED, SessionStatus.CANCELLED]
    )
    def test_a_scheduled_session_can_be_closed(self, target: SessionStatus) -> None:
        check_session_transition(SessionStatus.SCHEDULED, target)

    @pytest.mark.parametrize(
        "current", [SessionStatus.HELD, SessionStatus.MISSED, SessionStatus.CANCELLED]
    )
    def test_a_closed_session_cannot_be_reopened(self, current: SessionStatus) -> None:
        with pytest.raises(IllegalTransition):
            check_session_transition(current, SessionStatus.SCHEDULED)


class TestEligibility:
    def test_every_reason_is_listed(self) -> None:
        verdict = eligibility(
            uuid.uuid4(),
            training_completed=False,
            open_remedial=True,
            live_application=ApplicationStatus.PENDING,
        )

        assert not verdict.eligible
        assert [r.code for r in verdict.reasons] == [
            "training_not_completed",
            "open_remedial_engagement",
            "already_applied",
        ]

    def test_trained_without_remedial_or_application_is_eligible(self) -> None:
        verdict = eligibility(
            uuid.uuid4(), training_completed=True, open_remedial=False, live_application=None
        )

        assert verdict.eligible
        assert verdict.reasons == []
