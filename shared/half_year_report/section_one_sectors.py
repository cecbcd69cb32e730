"""(四)扎实落实行业扶贫政策: the sector policies' sentences of the template (see `section_one`): housing, education,
medical care, the safety net (兜底保障), drinking water and the others."""

from __future__ import annotations

from shared.contracts.subsidies import PolicyCode
from shared.half_year_report.amounts import WAN, YUAN, wan, yuan
from shared.half_year_report.document import FigureRef, Missing, Paragraph, Part, Stated
from shared.half_year_report.filling import Filler, Writer, count, percent
from shared.half_year_report.period import Period
from shared.reporting import Unit

P = PolicyCode
DISABILITY_PROGRAMMES = (P.DISABILITY_LIVING_SUBSIDY, P.DISABILITY_NURSING_SUBSIDY)  # 残疾人两项补贴


def _paid(f: Filler, key: str, unit: Unit, programme: PolicyCode, write: Writer, seed: int) -> Part:
    return f.fig("subsidies", key, unit, write, seed, ("programme", programme.value))


def housing(f: Filler, period: Period, whole: str) -> tuple[Part, ...]:
    # housing.appraised counts the C/D houses only: the seed's 1590 appraised houses of every grade are not held.
    return (
        "住房安全方面:对",
        whole,
        Missing("开展房屋安全鉴定的脱贫不享受政策贫困户数", "1590户"),
        "脱贫不享受政策贫困户房屋安全开展鉴定,共鉴定出C级",
        f.fig("households", "housing.appraised", Unit.HOUSEHOLDS, count("户"), 83, ("grade", "C")),
        ",D级",
        f.fig("households", "housing.appraised", Unit.HOUSEHOLDS, count("户"), 19, ("grade", "D")),
        f",{period.by_end}按照“五统一”标准改造到位危房",
        f.fig("households", "housing.renovated", Unit.HOUSEHOLDS, count("户"), 102),
        ",期末尚未改造危房",
        f.fig("households", "housing.outstanding", Unit.HOUSEHOLDS, count("户"), 0),
        "。脱贫享受政策户住房安全排查:",
        Missing(
            "抽调人员、带队干部及对所有脱贫享受政策户住房安全的排查情况",
            "抽调63人,由7个副科级干部带队对全区所有脱贫享受政策户的住房安全进行了全面排查",
        ),
        ";期内发现原旧房屋未拆除或仅部分拆除、院墙门楼存在安全隐患等住房问题",
        # the visits' own problems: audit's housing category also holds each C/D house appraised as a finding
        f.fig("households", "visits.problems", Unit.PROBLEMS, count("处"), 200, ("category", "housing")),
        "。",
    )


def education_and_medical(f: Filler) -> tuple[Part, ...]:
    # 各类教育补贴 29.33万: the catalogue's termly 500 / 1,500 yuan cannot make it with 560 students, and "各类…等"
    # names more than the catalogue pays: missing.
    return (
        "教育方面:帮扶建档立卡学生",
        f.fig("households", "schooling.students", Unit.PEOPLE, count("人"), 560),
        ",落实各类教育补贴等",
        Missing("各类教育补贴金额", "29.33万元"),
        ";扎实落实控辍保学政策,核查整改问题",
        f.fig("audit", "findings.found", Unit.PROBLEMS, count("条"), 34, ("category", "schooling")),
        ";“万名教师送温暖,教育扶贫访万家”活动走访建档立卡贫困户",
        Missing("“万名教师送温暖,教育扶贫访万家”活动走访的贫困户数", "871户"),
        "。医疗方面:落实居民基本医疗保险补贴",
        _paid(f, "paid.amount", Unit.FEN, P.HEALTH_INSURANCE_PREMIUM_SUBSIDY, wan, 7149 * WAN),
        ";开展贫困人口慢性病集中审批,审批通过",
        f.fig("households", "medical.chronic_approved", Unit.PEOPLE, count("人"), 477),
        "。定点医疗机构“一站式”信息交换和即时结算:",
        Missing("实现“一站式”信息交换和即时结算的定点医疗机构", "全区23家定点医疗机构全部实现"),
        ";门诊减免",
        Missing("门诊减免人次", "2709人次"),
        "、减免金额",
        Missing("门诊减免金额", "24825元"),
        ",住院减免",
        Missing("住院减免人次", "518人次"),
        "、减免金额",
        Missing("住院减免金额", "6530元"),
        "。扎实开展健康扶贫政策落实情况核查整改,整改落实家医签约服务不到位问题",
        Missing("家医签约服务不到位问题数", "100余个"),
        ",更换、添加服务牌",
        Missing("更换、添加服务牌户数", "65户"),
        ",新办理慢性病",
        Missing("新办理慢性病人数", "180余名"),
        ",贫困严重精神障碍患者",
        Missing("贫困严重精神障碍患者人次", "188人次"),
        ",产生的个人自负医疗费用",
        Missing("严重精神障碍患者个人自负医疗费用", "91643.06元"),
        ",财政负担退费",
        Missing("严重精神障碍患者自负医疗费用的财政退费情况", "由财政负担全部退费到位"),
        "。",
    )


def safety_net(f: Filler) -> tuple[Part, ...]:
    monthly = f.fig("subsidies", "standard.monthly", Unit.FEN, yuan, 258 * YUAN, ("programme", P.DIBAO.value))
    amounts = [FigureRef("subsidies", "paid.amount", ("programme", p.value)) for p in DISABILITY_PROGRAMMES]
    people = [FigureRef("subsidies", "paid.people", ("programme", p.value)) for p in DISABILITY_PROGRAMMES]
    return (
        "兜底保障方面:落实了贫困户低保延期渐退政策;新纳入低保",
        _paid(f, "enrolled.new_households", Unit.HOUSEHOLDS, P.DIBAO, count("户"), 279),
        "、",
        _paid(f, "enrolled.new_people", Unit.PEOPLE, P.DIBAO, count("人"), 623),
        ",新纳入特困供养",
        _paid(f, "enrolled.new_people", Unit.PEOPLE, P.EXTREME_POVERTY_SUPPORT, count("人"), 174),
        ";农村居民最低生活保障标准为每人每年",
        # not 12 × the 258 below: the seed's 5,160 a year (430 a month) is the standard, 258 the top-up paid
        Missing("农村居民最低生活保障年标准", "5160元"),
        ",发放补差每人每月",
        monthly,
        ",农村低保对象价格临时补贴",
        Missing("农村低保对象价格临时补贴的发放金额", "101.94万元"),
        ";临时救助困难群众",
        _paid(f, "paid.person_times", Unit.PERSON_TIMES, P.TEMPORARY_ASSISTANCE, count("人次"), 35),
        ",发放临时救助金",
        _paid(f, "paid.amount", Unit.FEN, P.TEMPORARY_ASSISTANCE, wan, 64_000 * YUAN),
        ",乡镇临时救助备用金额度",
        Missing("乡镇临时救助备用金额度及其调整", "提高至5万元"),
        ";落实残疾人“两项补贴”",
        f.derived(
            "subsidies", "sum(paid.amount of the two disability subsidies)", Unit.FEN, f.total(amounts), wan, 335 * WAN
        ),
        ",帮扶",  # a person paid both subsidies is counted in each: person-times, not people
        f.derived(
            "subsidies",
            "sum(paid.people of the two disability subsidies)",
            Unit.PERSON_TIMES,
            f.total(people),
            count("人次"),
            7927,
        ),
        ";落实经济困难老年人享受补贴",
        Missing("享受补贴的经济困难老年人数", "2987人"),
        "。",
    )


def _checked(f: Filler, checked: Stated) -> tuple[Part, ...]:
    """全面检查 only when every household on the roll had its water checked in the period; else the share."""
    registered = f.figures.value(FigureRef("households", "register.households"), Unit.HOUSEHOLDS)
    if checked.value is not None and registered and checked.value >= registered:
        return ("开展全面检查",)
    share = None if checked.value is None or not registered else checked.value * 10_000 // registered
    how = "water.checked × 10000 ÷ register.households"
    return ("开展检查(检查户数占建档立卡户", f.derived("households", how, Unit.PERCENT_BP, share, percent), ")")


def water(f: Filler) -> tuple[Part, ...]:
    checked = f.fig("households", "water.checked", Unit.HOUSEHOLDS, count("户"), 3452)
    return (
        "饮水安全方面:检查组织",
        Missing("饮水安全检查的组织及人员", "成立了水利行业扶贫政策落实自查整改领导小组,安排78名同志分7个检查组"),
        ";对",
        checked,
        "贫困户、",
        f.fig("households", "monitoring.households", Unit.HOUSEHOLDS, count("户"), 23),
        "即时帮扶户供水情况",
        *_checked(f, checked),
        ",期末饮水不安全",
        f.fig("households", "water.unsafe", Unit.HOUSEHOLDS, count("户")),
        "。",
    )


def others(f: Filler) -> tuple[Part, ...]:
    # the seed's acts the platform holds nothing of are named with their figure missing, never said to be done
    return (
        "其他行业扶贫方面:上门评残累计上门办证",
        Missing("上门办证人次", "100人次"),
        ",办理残疾证",
        f.fig("households", "disability.certified", Unit.PEOPLE, count("人"), 454),
        ";获发无障碍器材的建档立卡贫困重度残疾人",
        Missing("获发无障碍器材的建档立卡贫困重度残疾人数", "1169名"),
        ";享受建档立卡残疾人精准康复服务",
        Missing("享受精准康复服务的建档立卡残疾人数", "2288人"),
        "。托底安置贫困人口",
        Missing("托底安置的贫困人口数", "121人"),
        ";往年公益性岗位人员",
        Missing("往年公益性岗位人员数", "84名"),
        ",拨付公益性岗位补贴",
        Missing("往年公益性岗位补贴", "15.4万元"),
        ",社会保险补贴",
        Missing("公益性岗位社会保险补贴", "0.25万元"),
        ";为",
        _paid(f, "paid.people", Unit.PEOPLE, P.PENSION_PREMIUM_SUBSIDY, count("名"), 2144),
        "符合政府代缴条件的贫困人员代缴保费",
        _paid(f, "paid.amount", Unit.FEN, P.PENSION_PREMIUM_SUBSIDY, wan, 214_400 * YUAN),
        ";55—59周岁贫困人员提前领取养老金",
        Missing("提前领取养老金的55—59周岁贫困人员数", "90名"),
        "。“金晖助老”青春扶贫志愿者行动招募志愿者",
        Missing("“金晖助老”行动招募的志愿者人数", "78名"),
        ",结对贫困老人",
        Missing("与志愿者结成帮扶对子的贫困老人数", "39名"),
        "。科技特派员下乡覆盖重点贫困村",
        Missing("科技特派员下乡覆盖的重点贫困村数", "实现34个重点贫困村和种植扶贫项目全覆盖"),
        ";省定贫困村脱贫摘帽“回头看”",
        Missing("开展脱贫摘帽“回头看”的省定贫困村数", "34个"),
        "。",
    )


def sector_policies(f: Filler, period: Period, whole: str) -> Paragraph:
    return Paragraph(
        "(四)扎实落实行业扶贫政策。",
        (
            *housing(f, period, whole),
            *education_and_medical(f),
            *safety_net(f),
            *water(f),
            *others(f),
        ),
    )
