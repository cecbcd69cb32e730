"""The subsidies service (政策补贴): the programme catalogue, cycles paid through the bank, checks, and the payment of
projects' approved distribution plans and payrolls."""

from __future__ import annotations

from fastapi import FastAPI

from services.subsidies.api import routers
from services.subsidies.domain.schedule import scheduled_cycle_checks
from services.subsidies.handlers import build_handlers
from services.subsidies.settings import SubsidiesSettings
from shared.service import ServiceSpec, build_app
from shared.timeutil import utcnow

DESCRIPTION = (
    "Subsidy disbursement as a district finance office runs it (惠民惠农补贴发放). The programme catalogue "
    "(政策目录) holds each programme's versions: its amount, its eligibility rule as data over the households' "
    "facts, and who set it when and why; any household's eligibility is explained rule by rule. A cycle per "
    "programme and period computes the entitlement list (享受对象名单) with a snapshot per entitlement, posts it for "
    "public notice (公示) with objections, and is submitted and approved by different people within the "
    "programme's funds. Payee accounts (惠民惠农一卡通) are sealed at rest and shown masked; an approved cycle's "
    "disbursement batches (代发批次) are exported as bank files (代发文件, GBK or UTF-8, each export recorded with "
    "who and why) and the bank's result files (回盘文件) reconciled line by line: paid, failed (followed up once "
    "the account is corrected) or returned. Each entitlement is paid at most once whatever is retried or "
    "re-imported; a wrong payment is reversed (冲正) or recovered (追回). Coverage checks (政策落实覆盖核查) find "
    "who was entitled and went unpaid, leakage checks (资金安全核查) find payments that should not have been made "
    "as they were, on demand and on a schedule per cycle; each gap and leak goes to audit as a finding. Projects' "
    "approved distribution plans of an asset's income (收益分配方案) and payrolls of public-welfare posts "
    "(公益岗位工资表) arrive as cycles approved already, paid the same way. Households count payments as transfer "
    "income (less what was corrected), plans' shares as asset income and posts' allowances as wages."
)


def create_app(settings: SubsidiesSettings | None = None) -> FastAPI:
    settings = settings or SubsidiesSettings()
    return build_app(
        ServiceSpec(
            name="subsidies",
            title="Subsidies (政策补贴)",
            description=DESCRIPTION,
            settings=settings,
            routers=routers,
            handlers=build_handlers(settings),
            workers=[scheduled_cycle_checks(settings, clock=utcnow)],
        )
    )
