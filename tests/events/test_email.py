"""E-mail: each person told about an event also gets it by e-mail, through a real SMTP
server; an SMTP outage delays mail and loses none; mandatory kinds stay mandatory."""

from __future__ import annotations

import datetime as dt
import email.message

import time_machine

from gateway.events.mailcatcher import MailCatcher
from gateway.models import Person
from tests.events.conftest import drain, mailer
from tests.incidents.conftest import Org, report
from tests.support.stack import StackHandle


def parts(message: email.message.EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


class TestSending:
    async def test_the_owner_and_the_manager_each_get_an_email_with_text_and_html(
        self, stack: StackHandle, org: Org, mail: MailCatcher
    ) -> None:
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)

        sent = await mailer(stack).send_all_due()

        assert sent == 2
        [to_hr] = mail.to(str(org.hr.email))
        [to_manager] = mail.to(str(org.manager.email))
        text, html = parts(to_hr)
        assert to_hr["Subject"].startswith("An incident is yours to handle")
        assert "Respond by" in text
        assert "<a href=" in html
        assert "as manager" in parts(to_manager)[0]
        assert mail.to(str(org.employee.email)) == []

    async def test_no_description_and_no_reporter_in_any_email(
        self, stack: StackHandle, org: Org, mail: MailCatcher
    ) -> None:
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)

        await mailer(stack).send_all_due()

        assert len(mail.messages) == 2
        for message in mail.messages:
            everything = message.as_string() + "".join(parts(message))
            assert "Q3 revenue" not in everything
            assert org.reporter.display_name not in everything
            assert str(org.reporter.id) not in everything
            assert str(org.reporter.email) not in everything

    async def test_a_dutch_speaker_gets_dutch_mail(
        self, stack: StackHandle, org: Org, mail: MailCatcher
    ) -> None:
        dutch = await stack.person(department="People", roles=["hr"], locale="nl_BE")
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)

        await mailer(stack).send_all_due()

        [message] = mail.to(str(dutch.email))
        assert message["Subject"].startswith("Een incident voor u")
        assert "Reageer vóór" in parts(message)[0]

    async def test_someone_without_an_address_still_finds_it_in_the_inbox(
        self, stack: StackHandle, org: Org, mail: MailCatcher
    ) -> None:
        no_mail: Person = await stack.person(department="People", roles=["hr"], email=None)
        await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)

        await mailer(stack).send_all_due()

        inbox = await stack.as_user(no_mail).get("/api/v1/me/notifications")
        assert len(inbox.json()["items"]) == 1
        assert len(mail.messages) == 2  # org.hr and the manager


class TestSmtpDown:
    async def test_mail_waits_while_smtp_is_down_and_leaves_once_when_it_is_back(
        self, stack: StackHandle, org: Org, mail: MailCatcher
    ) -> None:
        sender = mailer(stack)
        working = sender.settings
        sender.settings = working.model_copy(update={"smtp_port": 1})  # nothing listens
        incident = await report(stack, org.reporter, org.employee, severity="high")
        await drain(stack)

        assert await sender.send_all_due() == 0
        sender.settings = working
        assert await sender.send_all_due() == 0  # backing off: not due yet
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)):
            assert await sender.send_all_due() == 2
            assert await sender.send_all_due() == 0

        assert incident["status"] == "decided"
        assert len(mail.to(str(org.hr.email))) == 1
        assert len(mail.to(str(org.manager.email))) == 1


class TestKeptConnection:
    async def test_mail_still_leaves_after_the_server_dropped_the_kept_connection(
        self, stack: StackHandle, org: Org, mail: MailCatcher
    ) -> None:
        sender = mailer(stack)
        try:
            await report(stack, org.reporter, org.employee, severity="high")
            await drain(stack)
            assert await sender.send_due(keep_open=True) == 2
            mail.stop()  # the server goes away, and with it the connection kept open
            mail.start()
            await report(stack, org.reporter, org.employee, severity="high")
            await drain(stack)

            assert await sender.send_due(keep_open=True) == 2
        finally:
            await sender.close()

        assert len(mail.to(str(org.hr.email))) == 2
        assert len(mail.to(str(org.manager.email))) == 2


class TestRoundTrips:
    async def test_a_refused_recipient_waits_and_the_others_of_the_batch_leave(
        self, stack: StackHandle, org: Org, mail: MailCatcher
    ) -> None:
        sender = mailer(stack)
        mail.refused = {str(org.manager.email)}
        try:
            for _ in range(3):
                await report(stack, org.reporter, org.employee, severity="high")
            await drain(stack)

            assert await sender.send_due() == 3  # one batch of six, pipelined
        finally:
            mail.refused = set()

        assert len(mail.to(str(org.hr.email))) == 3
        assert mail.to(str(org.manager.email)) == []
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)):
            assert await sender.send_all_due() == 3
        assert len(mail.to(str(org.manager.email))) == 3

    async def test_a_server_without_pipelining_gets_each_message_too(
        self, stack: StackHandle, org: Org, mail: MailCatcher
    ) -> None:
        mail.pipelining = False
        try:
            for _ in range(2):
                await report(stack, org.reporter, org.employee, severity="high")
            await drain(stack)

            assert await mailer(stack).send_all_due() == 4
        finally:
            mail.pipelining = True

        assert len(mail.to(str(org.hr.email))) == 2
        assert len(mail.to(str(org.manager.email))) == 2


class TestOptingOut:
    async def test_the_settings_say_which_kinds_are_mandatory(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.hr).get("/api/v1/me/notifications/settings")

        assert response.status_code == 200
        choices = {c["kind"]: c for c in response.json()["email"]}
        assert choices["incident.decided"] == {
            "kind": "incident.decided",
            "mandatory": True,
            "email": True,
        }

    async def test_opting_out_of_a_mandatory_kind_is_a_422_naming_it(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.hr).put(
            "/api/v1/me/notifications/settings",
            json={"email_opt_outs": ["incident.decided"]},
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        [error] = response.json()["errors"]
        assert error["pointer"] == "#/email_opt_outs/0"
        assert "mandatory" in error["detail"]

    async def test_opting_out_of_an_unknown_kind_is_a_422_listing_the_kinds(
        self, stack: StackHandle, org: Org
    ) -> None:
        response = await stack.as_user(org.hr).put(
            "/api/v1/me/notifications/settings", json={"email_opt_outs": ["no.such.kind"]}
        )

        assert response.status_code == 422
        assert "incident.decided" in response.json()["errors"][0]["detail"]
