"""The jobs of the district's half-year report as demo data: 233 public-welfare posts (公益岗位) at 900 yuan a month
(233 × 900 = 209,700 yuan: the report's 20.97万) and the 同心就业工场 of 博智文具 with its branches.

The platform pays a post, and counts a workshop's worker, only as a registered household's member: the demo's
households are ten, so three of them hold a post (one paired with 张玉珍, who lives alone: 帮扶对子) and two work
in the workshop; the other posts stand vacant, and the workshop's 43 packers and 89 clay workers are figures in its
name. The posts' places and the wages are made up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.local.demo_projects_stock import GENGDIAN, TOWNSHIP_CODES, YUAN, village_name

POST_COUNT, POST_ALLOWANCE_YUAN = 233, 900
PERIOD = "2020-06"  # the month whose payroll and wages the demo records
HELD_SINCE = date(2020, 3, 1)
EMPLOYED_SINCE = date(2020, 4, 1)


@dataclass(frozen=True)
class Post:
    title: str
    duty: str
    area_code: str
    holder: tuple[str, str] | None = None  # (household code, member name): a demo household's member
    cares_for: str | None = None  # a demo household's code (帮扶对子)

    def body(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "duty": self.duty,
            "area_code": self.area_code,
            "monthly_allowance_fen": POST_ALLOWANCE_YUAN * YUAN,
        }


DUTIES = {
    "cleaning": "保洁员",
    "road_maintenance": "护路员",
    "forest_ranger": "护林员",
    "security": "治安巡逻员",
    "care": "护理员",
}


def _posts() -> list[Post]:
    """The 233 posts: three held by demo households' members (one paired with 张玉珍, who lives alone), the rest
    vacant (their holders are households the demo does not register)."""
    held = [
        Post("前屯村保洁员 001号", "cleaning", "371523102201", ("DEMO-0002", "张伟")),
        Post("前屯村护理员 002号", "care", "371523103201", ("DEMO-0008", "孙美玲"), cares_for="DEMO-0003"),
        Post("耿店村治安巡逻员 003号", "security", GENGDIAN, ("DEMO-0006", "杨磊")),
    ]
    duties = list(DUTIES)
    rest = []
    for n in range(len(held), POST_COUNT):
        area = f"{TOWNSHIP_CODES[n % 5]}2{(n // 5) % 10 + 1:02d}"
        duty = duties[(n // 5) % len(duties)]
        rest.append(Post(f"{village_name(area)}{DUTIES[duty]} {n + 1:03d}号", duty, area))
    return held + rest


POSTS = _posts()


@dataclass(frozen=True)
class Workshop:
    name: str
    area_code: str
    parent: str | None = None  # the name of the workshop it is a branch of
    project_code: str | None = None
    workers: tuple[tuple[str, str, int], ...] = ()  # (household code, member name, monthly wage in yuan)


OPERATOR = "博智文具有限公司"
WORKSHOP = "同心就业工场 (博智文具: 包装工 43 人, 彩泥工 89 人)"
WORKSHOPS = (
    Workshop(WORKSHOP, "371523105", project_code="XM-2020-003"),
    Workshop("同心就业工场 陈铺村分场", "371523105202", WORKSHOP, workers=(("DEMO-0005", "陈淑珍", 1_200),)),
    Workshop("同心就业工场 南关村分场", "371523105203", WORKSHOP),
    Workshop("同心就业工场 菜张村分场", "371523104202", WORKSHOP, workers=(("DEMO-0004", "赵强", 1_500),)),
)
