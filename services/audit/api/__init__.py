"""HTTP routes of the audit service, one router per concept."""

from services.audit.api import (
    campaigns,
    findings,
    grievances,
    ledger,
    notifications,
    people,
    referrals,
    report,
    tasks,
    views,
)

routers = [
    findings.router,
    tasks.router,
    referrals.router,
    campaigns.router,
    ledger.router,
    views.router,
    notifications.router,
    grievances.router,
    people.router,
    report.router,
]
