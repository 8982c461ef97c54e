"""Demo content for ``make run``: loaded once, on the first start.

People are the gateway's demo organisation (Northwind, ``gateway.seed``), referred to by
``kit.demo.demo_person_id``. The story: the policy is published and most people have
acknowledged it; everyone has the core training assigned. Emma and Nina passed it (they are
ambassadors or applying); Tom failed the quiz at its attempt limit and Sam's training is
overdue, so both show up as training signals for coaching.

Training over time (issue 19), each through the same code as in production:

- the core module must be renewed every 12 months and Emma passed it 350 days ago, so the
  reconciliation training runs at start assigns her renewal, due when her completion expires;
- the policy's acknowledgements are valid 12 months and Marc acknowledged it 350 days ago,
  so that reconciliation asks him to renew his acknowledgement before it lapses;
- "When someone asks you about Northwind" is assigned to Sales by a rule (due 30 days after
  joining): Emma's and Sam's assignments are the rule's, and Marc, in Sales but not yet
  assigned, gets his at that first reconciliation, as a joiner would;
- that module was revised (version 2, not material: an example added), so the open
  assignments moved to version 2 with their progress.

Remedial training comes from incidents' decisions of coaching once the apps run (see
README "The demo story").
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from kit.db import Database, utcnow
from kit.demo import demo_person_id
from training.assignments.models import Assignment, ModuleProgress
from training.modules import service as modules
from training.modules.models import Module
from training.modules.schemas import (
    ExampleIn,
    ModuleCreate,
    ModuleUpdate,
    RevisionCreate,
    ScenarioIn,
    ScenarioOptionIn,
)
from training.policy import renewal
from training.policy.models import Acknowledgement, Clause, Policy, PolicyVersion, VersionStatus
from training.quizzes import service as quizzes
from training.quizzes.models import QuestionKind, ReviewRule
from training.quizzes.schemas import AnswerIn, OptionIn, QuestionIn, QuizIn
from training.rules.models import AssignmentRule, TargetKind

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


ESSENTIALS = ModuleCreate(
    title="Social media essentials",
    summary="The eight rules of our social media policy, with real posts that follow "
    "them and posts that break them.",
    body_markdown="""\
## Why this matters

Millions of people read what Northwind employees post. Most of it makes us proud. This
module walks through the policy clause by clause with examples from LinkedIn, X, Instagram
and TikTok, then asks you what you would do in two situations that happen every week.

You are accountable online as you are offline: a post in your own name is still read as
coming from someone who works here.
""",
    core=True,
    renew_every_months=12,
    examples=[
        ExampleIn(
            post_text="Three years at Northwind today. Proud of the support team that helped "
            "40 schools go paperless this year! (Views are my own.) #northwind",
            channel="linkedin",
            verdict="do",
            explanation="Public achievements, no confidential figures, and it is clear whose "
            "views these are.",
            clause_number="3.1",
        ),
        ExampleIn(
            post_text="Can't say much but our Q3 numbers are going to blow everyone away 🚀 "
            "Buy now!",
            channel="x",
            verdict="dont",
            explanation="Hints at unannounced results: that is confidential information, and "
            "it may be insider information too.",
            clause_number="2.1",
        ),
        ExampleIn(
            post_text="Late night at the office fixing the Contoso outage [screenshot of the "
            "internal incident dashboard]",
            channel="instagram",
            verdict="dont",
            explanation="Names a customer and shows an internal tool. Take pictures of the "
            "view, not the screen.",
            clause_number="5.1",
        ),
        ExampleIn(
            post_text="Loving the new Northwind Planner release. Disclosure: I work on the "
            "team that built it.",
            channel="tiktok",
            verdict="do",
            explanation="Talking about our products is welcome when you say that you work here.",
            clause_number="6.1",
        ),
    ],
    scenarios=[
        ScenarioIn(
            situation="A customer tweets that Northwind 'lost all their data' and tags you. "
            "You know the outage was fixed an hour ago.",
            options=[
                ScenarioOptionIn(
                    key="a",
                    text="Reply that it's fixed and it was a storage bug in the Frankfurt "
                    "data centre.",
                    feedback="Well meant, but you would be speaking for the company and "
                    "sharing internal details.",
                ),
                ScenarioOptionIn(
                    key="b",
                    text="Reply that you're sorry, and point them to @NorthwindHelp, who "
                    "can look into their account.",
                    feedback="Kind, quick and correct: the support team has the facts and "
                    "the mandate.",
                ),
                ScenarioOptionIn(
                    key="c",
                    text="Ignore it; it is not your job.",
                    feedback="Not wrong, but a short pointer to the right channel helps "
                    "the customer and the company.",
                ),
            ],
            recommended_key="b",
            recommended_why="Only the support and communications teams speak for Northwind "
            "about incidents; you can still be helpful by showing the way.",
            clause_number="3.1",
        ),
        ScenarioIn(
            situation="A colleague posts a team photo from the summer party. You are in it "
            "and you would rather not be online.",
            options=[
                ScenarioOptionIn(
                    key="a",
                    text="Comment under the post asking them to take it down.",
                    feedback="That draws more attention to the photo. A private word works better.",
                ),
                ScenarioOptionIn(
                    key="b",
                    text="Message your colleague privately and ask them to remove or crop it.",
                    feedback="Right: people need consent before posting colleagues, and most "
                    "are happy to fix it.",
                ),
            ],
            recommended_key="b",
            recommended_why="Colleagues' privacy needs their consent; resolve it privately "
            "first and report a concern only if that does not work.",
            clause_number="5.1",
        ),
    ],
)

ESSENTIALS_QUIZ = QuizIn(
    pass_mark_percent=75,
    attempt_limit=3,
    time_limit_seconds=20 * 60,
    partial_credit=True,
    review_rule=ReviewRule.AFTER_SUBMIT,
    questions=[
        QuestionIn(
            kind=QuestionKind.SINGLE_CHOICE,
            prompt="A friend asks on Facebook when the new Planner ships. It has not been "
            "announced. What do you post?",
            options=[
                OptionIn(text="The date you heard in the all-hands meeting."),
                OptionIn(text="'Soon!' with a wink emoji."),
                OptionIn(
                    text="That you can't share plans, and a link to the product news page.",
                    correct=True,
                ),
            ],
            explanation="Unannounced plans are confidential, and hints count too.",
            clause_numbers=["2.1", "7.1"],
        ),
        QuestionIn(
            kind=QuestionKind.TRUE_FALSE,
            prompt="Deleting a post within a few minutes undoes any harm it did.",
            answer=False,
            explanation="Screenshots last forever; think before you post.",
            clause_numbers=["1.1"],
        ),
        QuestionIn(
            kind=QuestionKind.MULTIPLE_CHOICE,
            prompt="Which of these are confidential?",
            options=[
                OptionIn(text="Next quarter's prices", correct=True),
                OptionIn(text="A customer's name from a support ticket", correct=True),
                OptionIn(text="A screenshot of the internal wiki", correct=True),
                OptionIn(text="The press release published this morning"),
            ],
            explanation="Anything not yet public, customer details and internal tools are "
            "confidential; published news is not.",
            clause_numbers=["2.1", "5.1"],
        ),
        QuestionIn(
            kind=QuestionKind.SINGLE_CHOICE,
            prompt="A journalist DMs you on LinkedIn asking for a comment on a rumoured "
            "acquisition. You:",
            options=[
                OptionIn(
                    text="Say you can't comment and refer them to the press office.", correct=True
                ),
                OptionIn(text="Say it's only a rumour."),
                OptionIn(text="Ignore them and delete the message."),
            ],
            explanation="Only spokespeople speak for Northwind; pointing to the press office "
            "is both polite and safe.",
            clause_numbers=["3.1", "7.1"],
        ),
        QuestionIn(
            kind=QuestionKind.TRUE_FALSE,
            prompt="When you review a Northwind product online you should say that you work here.",
            answer=True,
            explanation="Undisclosed endorsements mislead readers and can be unlawful.",
            clause_numbers=["6.1"],
        ),
        QuestionIn(
            kind=QuestionKind.MULTIPLE_CHOICE,
            prompt="Someone insults a colleague in the comments under a Northwind post. "
            "What is right?",
            options=[
                OptionIn(text="Report it through the incident form", correct=True),
                OptionIn(text="Tell your manager", correct=True),
                OptionIn(text="Reply with an insult of your own"),
            ],
            explanation="Report concerns instead of replying; never answer harassment in kind.",
            clause_numbers=["4.1", "8.1"],
        ),
        QuestionIn(
            kind=QuestionKind.SINGLE_CHOICE,
            prompt="Your private account says nothing about Northwind. Does the policy "
            "apply to it?",
            options=[
                OptionIn(text="No, it is private."),
                OptionIn(
                    text="Yes, whenever what you post can be linked to you as an employee.",
                    correct=True,
                ),
                OptionIn(text="Only during working hours."),
            ],
            explanation="You are accountable online as offline, on any account and device.",
            clause_numbers=["1.1"],
        ),
        QuestionIn(
            kind=QuestionKind.TRUE_FALSE,
            prompt="A funny photo of a colleague asleep on the train may be posted if you "
            "blur the company logo.",
            answer=False,
            explanation="Colleagues' photos need their consent, logo or not.",
            clause_numbers=["5.1"],
        ),
    ],
)

QUESTIONS = """\
## Asked a question you cannot answer?

It happens to everyone: a friend, a customer or a journalist asks about Northwind and you
do not know, or may not say. Do not guess. Thank them, say you are not the right person,
and point them to the official channel (press@northwind.example for journalists,
@NorthwindHelp for customers).
"""

QUESTIONS_MODULE = ModuleCreate(
    title="When someone asks you about Northwind",
    summary="What to say when you cannot or may not answer, and who can.",
    body_markdown=QUESTIONS,
    examples=[
        ExampleIn(
            post_text="Good question! I'm not the right person to answer, but the team at "
            "@NorthwindHelp will know.",
            channel="x",
            verdict="do",
            explanation="Friendly, no guessing, points to the official channel.",
            clause_number="7.1",
        ),
        ExampleIn(
            post_text="No idea, probably layoffs like everyone else lol",
            channel="facebook",
            verdict="dont",
            explanation="Guessing about the company spreads rumours that read as insider "
            "knowledge.",
            clause_number="7.1",
        ),
        ExampleIn(
            post_text="Speaking for myself, not Northwind: I think remote work is here to stay.",
            channel="linkedin",
            verdict="do",
            explanation="Your opinion is yours to share when you make clear it is yours.",
            clause_number="3.1",
        ),
    ],
    scenarios=[
        ScenarioIn(
            situation="At a conference a stranger asks whether Northwind is 'in trouble' "
            "after a critical news article.",
            options=[
                ScenarioOptionIn(
                    key="a",
                    text="Explain what you know from internal meetings.",
                    feedback="Internal information stays internal, even in conversation.",
                ),
                ScenarioOptionIn(
                    key="b",
                    text="Say you can't speak for the company and suggest the press office.",
                    feedback="Exactly: honest, polite, and nothing to regret later.",
                ),
            ],
            recommended_key="b",
            recommended_why="You are not a spokesperson; the press office has the facts.",
            clause_number="7.1",
        ),
        ScenarioIn(
            situation="A recruiter's post claims Northwind pays 'double the market'. A "
            "friend asks you if that's true.",
            options=[
                ScenarioOptionIn(
                    key="a",
                    text="Share your own salary to set the record straight.",
                    feedback="Your pay is your business, but it says nothing for everyone, "
                    "and invites more questions.",
                ),
                ScenarioOptionIn(
                    key="b",
                    text="Say you don't know the figures and point to the careers page.",
                    feedback="Right: no guessing, and the official source answers.",
                ),
                ScenarioOptionIn(
                    key="c",
                    text="Report the recruiter's post as misleading.",
                    feedback="Only if it really is ours and misleading; first answer your friend.",
                ),
            ],
            recommended_key="b",
            recommended_why="When you cannot answer, point to the official channel.",
            clause_number="7.1",
        ),
    ],
)

# user name -> department (as in the gateway's demo directory)
DEMO_DEPARTMENTS = {
    "olivia.owner": "Communications",
    "paul.comms": "Communications",
    "hannah.hr": "People",
    "carla.coach": "People",
    "leo.legal": "Legal",
    "pia.privacy": "Legal",
    "marc.manager": "Sales",
    "emma.employee": "Sales",
    "sam.sales": "Sales",
    "ethan.lead": "Engineering",
    "nina.engineer": "Engineering",
    "tom.support": "Customer Support",
    "grace.admin": "IT",
}
# A correction published as version 2 of "When someone asks you about Northwind".
REVISED_EXAMPLE = ExampleIn(
    post_text="Thanks for asking! I can't comment on that, but our press team can: "
    "press@northwind.example",
    channel="linkedin",
    verdict="do",
    explanation="Polite, no guessing, and the journalist knows exactly where to go.",
    clause_number="7.1",
)
# Emma passed the core module this long ago: her renewal comes due within the lead time.
EMMA_PASSED_DAYS_AGO = 350
SALES_RULE_DUE_DAYS = 30

ACKNOWLEDGED = ("olivia.owner", "paul.comms", "hannah.hr", "marc.manager", "emma.employee")
# The policy is a year old; Marc acknowledged it this long ago, the others lately.
POLICY_PUBLISHED_DAYS_AGO = 380
MARC_ACKNOWLEDGED_DAYS_AGO = 350
ACKNOWLEDGEMENT_RENEWAL_MONTHS = 12
PASSED_CORE = ("emma.employee", "nina.engineer")
FAILED_CORE = ("tom.support",)


async def seed(database: Database) -> bool:
    """Load the demo content unless the policy already exists. Returns whether it loaded."""
    async with database.transaction() as session:
        if await session.scalar(select(func.count()).select_from(Policy)):
            return False
        version = await _policy(session)
        session.add_all(_acknowledgements(version))
        essentials = await _module(session, ESSENTIALS, ESSENTIALS_QUIZ)
        questions = await _module(session, QUESTIONS_MODULE, None)
        rule = AssignmentRule(
            lineage_id=questions.lineage_id,
            target=TargetKind.DEPARTMENT,
            target_name="Sales",
            due_days=SALES_RULE_DUE_DAYS,
            created_by=demo_person_id("olivia.owner"),
        )
        session.add(rule)
        await session.flush()
        _assignments(session, essentials, questions, sales_rule=rule)
        await session.flush()
        for user in PASSED_CORE:
            await _take_quiz(session, essentials, demo_person_id(user), passing=[True])
        for user in FAILED_CORE:
            await _take_quiz(session, essentials, demo_person_id(user), passing=[False] * 3)
        await _passed_long_ago(session, essentials, demo_person_id("emma.employee"))
        await _revise(session, questions)
    return True


async def _passed_long_ago(session: AsyncSession, module: Module, person_id: uuid.UUID) -> None:
    """Move a completion (and its assignment) back in time, for the renewal to come due."""
    then = utcnow() - dt.timedelta(days=EMMA_PASSED_DAYS_AGO)
    progress = await session.scalar(
        select(ModuleProgress).where(
            col(ModuleProgress.module_id) == module.id, col(ModuleProgress.person_id) == person_id
        )
    )
    assignment = await session.scalar(
        select(Assignment).where(
            col(Assignment.module_id) == module.id, col(Assignment.person_id) == person_id
        )
    )
    assert progress is not None
    assert assignment is not None
    progress.started_at = then - dt.timedelta(hours=1)
    progress.completed_at = then
    if progress.read_at is not None:
        progress.read_at = then - dt.timedelta(minutes=30)
    assignment.created_at = then - dt.timedelta(days=7)
    assignment.due_at = then + dt.timedelta(days=14)
    session.add_all([progress, assignment])
    await session.flush()


async def _revise(session: AsyncSession, module: Module) -> Module:
    """Version 2, not material: the open assignments move to it with their progress."""
    draft = await modules.revise_module(
        session,
        module=module,
        data=RevisionCreate(material=False),
        author_id=demo_person_id("olivia.owner"),
    )
    examples = [*QUESTIONS_MODULE.examples, REVISED_EXAMPLE]
    await modules.update_module(session, module=draft, data=ModuleUpdate(examples=examples))
    return await modules.publish_module(session, module=draft)


async def _policy(session: AsyncSession) -> PolicyVersion:
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
        renew_acknowledgement_every_months=ACKNOWLEDGEMENT_RENEWAL_MONTHS,
        effective_at=now - dt.timedelta(days=POLICY_PUBLISHED_DAYS_AGO),
        published_at=now - dt.timedelta(days=POLICY_PUBLISHED_DAYS_AGO),
    )
    session.add(version)
    await session.flush()
    session.add_all(
        Clause(version_id=version.id, number=number, title=title, body=body, position=i)
        for i, (number, title, body) in enumerate(CLAUSES)
    )
    await session.flush()
    return version


def _acknowledgements(version: PolicyVersion) -> list[Acknowledgement]:
    now = utcnow()
    acknowledgements = []
    for user in ACKNOWLEDGED:
        days_ago = MARC_ACKNOWLEDGED_DAYS_AGO if user == "marc.manager" else 10
        at = now - dt.timedelta(days=days_ago)
        acknowledgements.append(
            Acknowledgement(
                version_id=version.id,
                person_id=demo_person_id(user),
                acknowledged_at=at,
                expires_at=renewal.expiry(version, at),
            )
        )
    return acknowledgements


async def _module(session: AsyncSession, data: ModuleCreate, quiz: QuizIn | None) -> Module:
    module = await modules.create_module(
        session, data=data, author_id=demo_person_id("olivia.owner")
    )
    if quiz is not None:
        await quizzes.put_quiz(session, module=module, data=quiz)
    return await modules.publish_module(session, module=module)


def _assignments(
    session: AsyncSession, essentials: Module, questions: Module, *, sales_rule: AssignmentRule
) -> None:
    now = utcnow()
    owner = demo_person_id("olivia.owner")
    for user, department in DEMO_DEPARTMENTS.items():
        # Sam's was due last week: an overdue signal for coaching.
        due = now - dt.timedelta(days=5) if user == "sam.sales" else now + dt.timedelta(days=21)
        session.add(
            Assignment(
                module_id=essentials.id,
                person_id=demo_person_id(user),
                department=department,
                due_at=due,
                assigned_by=owner,
            )
        )
    # Emma and Sam by the Sales rule (Marc, in Sales too, is the reconciliation's joiner);
    # Tom by hand.
    for user in ("emma.employee", "sam.sales", "tom.support"):
        ruled = DEMO_DEPARTMENTS[user] == "Sales"
        session.add(
            Assignment(
                module_id=questions.id,
                person_id=demo_person_id(user),
                department=DEMO_DEPARTMENTS[user],
                due_at=now + dt.timedelta(days=30),
                assigned_by=None if ruled else owner,
                rule_id=sales_rule.id if ruled else None,
            )
        )


async def _take_quiz(
    session: AsyncSession, module: Module, person_id: uuid.UUID, *, passing: list[bool]
) -> None:
    """Attempts through the same rules as the API, answered right or wrong."""
    quiz = await quizzes.quiz_of(session, module=module)
    key = await quizzes.author_view(session, quiz=quiz)
    for right in passing:
        attempt = await quizzes.start_attempt(session, module=module, person_id=person_id)
        answers = [
            AnswerIn(
                question_id=question.id,
                option_ids=question.correct_option_ids
                if right
                else [
                    next(o.id for o in question.options if o.id not in question.correct_option_ids)
                ],
            )
            for question in key.questions
        ]
        await quizzes.submit_attempt(
            session, attempt=attempt, answers=answers, grace=dt.timedelta(seconds=10)
        )
