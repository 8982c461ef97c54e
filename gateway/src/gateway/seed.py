"""The demo organisation for ``make run``: people with departments, managers and roles.

Ids are derived from user names (``kit.demo.demo_person_id``) so the services' own seeds
refer to the same people without asking the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from gateway.models import Group, GroupMember, Person, PersonEmail
from kit.db import Database
from kit.demo import demo_person_id

DEMO_DOMAIN = "northwind.example"


@dataclass(frozen=True)
class DemoPerson:
    user_name: str
    given_name: str
    family_name: str
    department: str
    title: str
    manager: str | None = None
    groups: tuple[str, ...] = ()


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("grace.admin", "Grace", "Okafor", "IT", "Head of IT", groups=("Admins",)),
    DemoPerson(
        "olivia.owner",
        "Olivia",
        "Martin",
        "Communications",
        "Head of Communications",
        groups=("Policy Owners",),
    ),
    DemoPerson(
        "paul.comms",
        "Paul",
        "Lindqvist",
        "Communications",
        "Social media manager",
        manager="olivia.owner",
        groups=("Policy Owners", "Coaches"),
    ),
    DemoPerson("hannah.hr", "Hannah", "Schmidt", "People", "HR business partner", groups=("HR",)),
    DemoPerson("leo.legal", "Leo", "Rossi", "Legal", "Legal counsel", groups=("Legal",)),
    DemoPerson("pia.privacy", "Pia", "de Vries", "Legal", "Privacy officer", groups=("Privacy",)),
    DemoPerson(
        "carla.coach",
        "Carla",
        "Jensen",
        "People",
        "Learning and development coach",
        manager="hannah.hr",
        groups=("Coaches",),
    ),
    DemoPerson("marc.manager", "Marc", "Dubois", "Sales", "Sales manager"),
    DemoPerson(
        "emma.employee", "Emma", "Wilson", "Sales", "Account executive", manager="marc.manager"
    ),
    DemoPerson(
        "sam.sales",
        "Sam",
        "Patel",
        "Sales",
        "Sales development representative",
        manager="marc.manager",
    ),
    DemoPerson("ethan.lead", "Ethan", "Brooks", "Engineering", "Engineering manager"),
    DemoPerson(
        "nina.engineer",
        "Nina",
        "Kowalski",
        "Engineering",
        "Software engineer",
        manager="ethan.lead",
    ),
    DemoPerson(
        "tom.support",
        "Tom",
        "Garcia",
        "Customer Support",
        "Support specialist",
        manager="ethan.lead",
    ),
)


async def seed(database: Database) -> bool:
    """Load the demo organisation into an empty directory. Returns whether it loaded."""
    async with database.transaction() as session:
        if await session.scalar(select(func.count()).select_from(Person)):
            return False
        groups = {
            name: Group(display_name=name)
            for name in sorted({group for person in DEMO_PEOPLE for group in person.groups})
        }
        session.add_all(groups.values())
        # Managers first, so every manager_id points at an existing row.
        for demo in sorted(DEMO_PEOPLE, key=lambda p: p.manager is not None):
            session.add(
                Person(
                    id=demo_person_id(demo.user_name),
                    external_id=f"hris-{demo.user_name}",
                    user_name=demo.user_name,
                    given_name=demo.given_name,
                    family_name=demo.family_name,
                    display_name=f"{demo.given_name} {demo.family_name}",
                    scim_display_name=f"{demo.given_name} {demo.family_name}",
                    email=f"{demo.user_name}@{DEMO_DOMAIN}",
                    department=demo.department,
                    title=demo.title,
                    manager_id=demo_person_id(demo.manager) if demo.manager else None,
                    locale="en-GB",
                )
            )
            await session.flush()
            session.add(
                PersonEmail(
                    person_id=demo_person_id(demo.user_name),
                    position=0,
                    value=f"{demo.user_name}@{DEMO_DOMAIN}",
                    type="work",
                    primary=True,
                )
            )
        session.add_all(
            GroupMember(group_id=groups[group].id, person_id=demo_person_id(demo.user_name))
            for demo in DEMO_PEOPLE
            for group in demo.groups
        )
    return True
