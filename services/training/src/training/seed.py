"""Demo content for ``make run``: loaded once, on the first start."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from kit.db import Database, utcnow
from training.models import Clause, Policy, PolicyVersion, VersionStatus

POLICY_BODY = """\
# Social media policy

Our people are our best ambassadors. This policy explains how to take part in social media
in a way that protects you, your colleagues, our customers and the company. It applies to
every channel (LinkedIn, X, Facebook, Instagram, TikTok, forums, messaging groups) whether
you post for work or in private, on a work or a personal device.
"""

CLAUSES: list[tuple[str, str, str]] = [
    (
        "1.1",
        "You are accountable online as you are offline",
        "What you post in your own name can be read as coming from an employee. The same "
        "standards of conduct apply online and offline; deleting a post does not undo it.",
    ),
    (
        "2.1",
        "Do not share confidential information",
        "Never post unannounced results, products, customers, deals, prices, internal "
        "documents, screenshots of internal tools, or anything marked confidential.",
    ),
    (
        "3.1",
        "Speak for the company only with a mandate",
        "Only the communications team and named spokespeople speak on the company's "
        "behalf. Otherwise say that opinions are your own and do not make commitments.",
    ),
    (
        "4.1",
        "Be respectful: no harassment or hate",
        "Do not harass, threaten, insult or discriminate against anyone, including "
        "colleagues, customers, competitors and critics.",
    ),
    (
        "5.1",
        "Protect the privacy of colleagues and customers",
        "Do not post photos, names, contact details or stories about colleagues or "
        "customers without their consent.",
    ),
    (
        "6.1",
        "Disclose your affiliation",
        "When you talk about our products, services or competitors, say that you work "
        "here. Endorsements without disclosure can mislead and may be unlawful.",
    ),
    (
        "7.1",
        "When asked a question you cannot answer",
        "If someone asks about the company and you cannot or may not answer, do not "
        "guess: thank them and point them to the communications team or the official channel.",
    ),
    (
        "8.1",
        "Report concerns",
        "If you see a post that may breach this policy or harm the company or someone, "
        "report it to your manager or through the incident form instead of replying.",
    ),
]


async def seed(database: Database) -> bool:
    """Load the demo content unless the policy already exists. Returns whether it loaded."""
    async with database.transaction() as session:
        if await session.scalar(select(func.count()).select_from(Policy)):
            return False
        policy = Policy(title="Social media policy")
        session.add(policy)
        await session.flush()
        now = utcnow()
        version = PolicyVersion(
            policy_id=policy.id,
            number=1,
            status=VersionStatus.PUBLISHED,
            body_markdown=POLICY_BODY,
            requires_acknowledgement=True,
            effective_at=now - dt.timedelta(days=30),
            published_at=now - dt.timedelta(days=30),
        )
        session.add(version)
        await session.flush()
        session.add_all(
            Clause(version_id=version.id, number=number, title=title, body=body, position=i)
            for i, (number, title, body) in enumerate(CLAUSES)
        )
    return True
