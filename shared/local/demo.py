"""Demo data from the district's half-year report: households in five townships, visits, a project."""

from __future__ import annotations

import httpx

from shared.auth import issue_token
from shared.settings import DEV_JWT_SECRET

# 贾寨镇, 冯屯镇, 博平镇, 胡屯镇, 温陈街道: the townships the report names (codes are illustrative).
TOWNSHIPS = {
    "371523101": "贾寨镇",
    "371523102": "冯屯镇",
    "371523103": "博平镇",
    "371523104": "胡屯镇",
    "371523105": "温陈街道",
}
HEADS = ["王秀英", "李桂兰", "张玉珍", "刘凤英", "陈淑珍", "杨建国", "赵德明", "黄志强", "周海燕", "吴春梅"]


def _headers(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(DEV_JWT_SECRET, 'demo-loader', [role])}"}


def load(base_urls: dict[str, str]) -> list[str]:
    """Register ten households, record visits (one D-grade house, one dropout); return the household ids."""
    office = _headers("district_office")
    ids: list[str] = []
    with httpx.Client(base_url=base_urls["households"], timeout=10) as client:
        for n, head in enumerate(HEADS):
            township = list(TOWNSHIPS)[n % len(TOWNSHIPS)]
            body = {
                "household_code": f"DEMO-{n + 1:04d}",
                "area_code": f"{township}201",
                "head_name": head,
                "members": [{"name": head, "relationship_to_head": "head", "birth_date": f"19{50 + n}-03-01"}],
            }
            response = client.post("/v1/households", json=body, headers=office)
            if response.status_code == 409:
                continue  # loaded on an earlier start
            response.raise_for_status()
            ids.append(response.json()["id"])
        if ids:
            _visits(client, ids, office)
    return ids


def _visits(client: httpx.Client, ids: list[str], office: dict[str, str]) -> None:
    client.post(
        f"/v1/households/{ids[0]}/visits",
        headers=office,
        json={
            "round": 2,
            "visited_on": "2020-05-12",
            "visitor": "区扶贫办 王科长",
            "housing_grade": "D",
            "observations": "房屋墙体开裂, 鉴定为D级危房",
        },
    ).raise_for_status()
    client.post(
        f"/v1/households/{ids[1]}/visits",
        headers=office,
        json={
            "round": 2,
            "visited_on": "2020-05-14",
            "visitor": "镇扶贫专干 李明",
            "problems": [{"category": "schooling", "code": "school_dropout", "description": "适龄儿童辍学 (控辍保学)"}],
        },
    ).raise_for_status()
