"""Month arithmetic for recertification: a completion or an acknowledgement valid N months
expires on the same day N months later (modules, ``rules.service.renew_due``; policy
acknowledgements, ``policy.renewal``)."""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))
