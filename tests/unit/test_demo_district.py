"""The demo district's population makes exactly the report's counts (and each smaller district its share), with
valid, unique, synthetic ID numbers; `poverty demo` refuses bad options (exit 2) and unreachable services (exit 1)
before writing anything."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import pytest

from shared.local.demo_district import command
from shared.local.demo_district.population import FULL, Population, Targets
from shared.local.demo_district.subsidies import runs
from shared.local.kafka import free_port
from shared.personal_data import check_digit


def _counts(population: Population) -> dict[str, int]:
    homes, people = population.homes, population.people
    allowance = Counter(h.allowance[0] for h in homes if h.allowance)
    grades = Counter(h.grade[0] for h in homes if h.grade)
    problems = Counter(c for h in homes for c, _, _ in h.problems)
    return {
        "households": len(homes),
        "dibao_households": allowance["dibao"],
        "dibao_people": sum(len(h.members) for h in homes if h.allowance and h.allowance[0] == "dibao"),
        "extreme_people": sum(len(h.members) for h in homes if h.allowance and h.allowance[0] == "extreme_poverty"),
        "monitored": sum(1 for h in homes if h.monitored),
        "monitored_at_end": sum(1 for h in homes if h.monitored and h.monitored[1] is None),
        "vocational": sum(p.stage == "vocational" for p in people),
        "students": sum(p.enrolment == "enrolled" for p in people),
        "working_age": sum(p.working_age for p in people),
        "chronic": sum(p.chronic_on is not None for p in people),
        "certified": sum(p.disability is not None for p in people),
        "appraised": sum(grades.values()),
        "grade_c": grades["C"],
        "grade_d": grades["D"],
        "housing_problems": problems["housing"],
        "dropouts": problems["schooling"],
        "posts": len(population.post_holders),
    }


@pytest.mark.parametrize("households", [FULL, 1000, 400, 100])
def test_the_population_makes_the_reports_counts_exactly(households: int) -> None:
    targets = Targets().scaled(households)
    assert _counts(Population(targets)) == vars(targets)


def test_the_full_district_is_the_seeds() -> None:
    targets = Targets().scaled(FULL)
    assert (targets.households, targets.dibao_people, targets.working_age, targets.students) == (3452, 623, 2144, 560)


def test_id_numbers_are_valid_unique_and_match_the_birth_date() -> None:
    people = Population(Targets()).people
    assert len({p.id_number for p in people}) == len(people)
    for person in people:
        number = person.id_number
        assert number[:6] == "371523" and number[6:14] == f"{person.born:%Y%m%d}"
        assert check_digit(number[:17]) == number[17]


def test_each_cycle_is_funded_with_exactly_what_it_pays() -> None:
    by_programme = {run.programme: run for run in runs(Population(Targets()))}
    assert by_programme["dibao"].fund_yuan == 623 * 258
    assert by_programme["rain_and_dew_education_aid"].fund_yuan == 105 * 1_500
    assert by_programme["pension_premium_subsidy"].fund_yuan == 2_144 * 100
    assert len(by_programme["temporary_assistance"].entitled) == 35


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="poverty")
    command.add_parser(parser.add_subparsers())
    return parser


@pytest.mark.parametrize("count", ["0", "99", "3453", "many", "-5", "1e3"])
def test_a_count_out_of_range_is_refused_with_exit_status_2(count: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["demo", "--households-count", count])
    assert exited.value.code == 2
    assert "whole number from 100 to 3452" in capsys.readouterr().err


def test_services_not_reachable_stop_the_build_before_anything_is_written(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for service in ("households", "projects", "subsidies"):
        monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/{service}.db")
    urls = [
        f"--{service}=http://127.0.0.1:{free_port()}" for service in ("households", "projects", "subsidies", "audit")
    ]
    args = _parser().parse_args(["demo", "--households-count", "100", *urls])
    assert command.run(args) == 1
    said = capsys.readouterr().err
    assert "poverty demo: the district was not built: not reachable: households (http://127.0.0.1:" in said
    assert all(f"{service} (" in said for service in ("projects", "subsidies", "audit")), said
    assert list(tmp_path.iterdir()) == []  # the import never ran
