"""(四)扎实落实行业扶贫政策: the sector policies' sentences of the template (see `section_one`): housing, education,
medical care, the safety net (兜底保障), drinking water and the others."""

from __future__ import annotations

from shared.half_year_report.document import FigureRef, Paragraph, Part
from shared.half_year_report.filling import WAN, YUAN, Filler, Writer, count, missing, wan, yuan
from shared.half_year_report.period import Period
from shared.reporting import Unit

DISABILITY_PROGRAMMES = ("disability_living_subsidy", "disability_nursing_subsidy")  # 残疾人两项补贴


def _paid(f: Filler, key: str, unit: Unit, programme: str, write: Writer, seed: int) -> Part:
    return f.fig("subsidies", key, unit, write, seed, ("programme", programme))


def housing(f: Filler, period: Period, whole: str) -> tuple[Part, ...]:
    # housing.appraised counts the C/D houses only: the seed's 1590 appraised houses of every grade are not held.
    return (
        "住房安全方面:对",
        whole,
        missing("开展房屋安全鉴定的脱贫不享受政策贫困户数", "1590户"),
        "脱贫不享受政策贫困户房屋安全开展鉴定,共鉴定出C级",
        f.fig("households", "housing.appraised", Unit.HOUSEHOLDS, count("户"), 83, ("grade", "C")),
        ",D级",
        f.fig("households", "housing.appraised", Unit.HOUSEHOLDS, count("户"), 19, ("grade", "D")),
        f",{period.by_end}按照“五统一”标准改造到位危房",
        f.fig("households", "housing.renovated", Unit.HOUSEHOLDS, count("户"), 102),
        ",期末尚未改造危房",
        f.fig("households", "housing.outstanding", Unit.HOUSEHOLDS, count("户"), 0),
        "。抽调",
        missing("抽调人员及带队干部", "63人,由7个副科级干部带队"),
        f"对{whole}所有脱贫享受政策户的住房安全进行了全面排查,"
        "排查整改原旧房屋未拆除或仅部分拆除、院墙门楼存在安全隐患等问题",
        f.fig("audit", "findings.found", Unit.PROBLEMS, count("处"), 200, ("category", "housing")),
        "。",
    )


def education_and_medical(f: Filler) -> tuple[Part, ...]:
    # 各类教育补贴 29.33万: the catalogue's termly 500 / 1,500 yuan cannot make it with 560 students, and "各类…等"
    # names more than the catalogue pays: missing.
    return (
        "教育方面:帮扶建档立卡学生",
        f.fig("households", "schooling.students", Unit.PEOPLE, count("人"), 560),
        ",落实各类教育补贴等",
        missing("各类教育补贴金额", "29.33万元"),
        ";扎实落实控辍保学政策,核查整改问题",
        f.fig("audit", "findings.found", Unit.PROBLEMS, count("条"), 34, ("category", "schooling")),
        ";开展了“万名教师送温暖,教育扶贫访万家”活动,共走访建档立卡贫困户",
        missing("教师走访的贫困户数", "871户"),
        "。医疗方面:落实居民基本医疗保险补贴",
        _paid(f, "paid.amount", Unit.FEN, "health_insurance_premium_subsidy", wan, 7149 * WAN),
        ";开展贫困人口慢性病集中审批,审批通过",
        f.fig("households", "medical.chronic_approved", Unit.PEOPLE, count("人"), 477),
        "。",
        missing("定点医疗机构数", "23家"),
        "定点医疗机构全部实现“一站式”信息交换和即时结算;门诊减免",
        missing("门诊减免人次", "2709人次"),
        "、减免金额",
        missing("门诊减免金额", "24825元"),
        ",住院减免",
        missing("住院减免人次", "518人次"),
        "、减免金额",
        missing("住院减免金额", "6530元"),
        "。扎实开展健康扶贫政策落实情况核查整改,整改落实家医签约服务不到位问题",
        missing("家医签约服务不到位问题数", "100余个"),
        ",更换、添加服务牌",
        missing("更换、添加服务牌户数", "65户"),
        ",新办理慢性病",
        missing("新办理慢性病人数", "180余名"),
        ",贫困严重精神障碍患者",
        missing("贫困严重精神障碍患者人次", "188人次"),
        ",产生的个人自负医疗费用",
        missing("严重精神障碍患者个人自负医疗费用", "91643.06元"),
        ",由财政负担全部退费到位。",
    )


def safety_net(f: Filler) -> tuple[Part, ...]:
    monthly = f.fig("subsidies", "standard.monthly", Unit.FEN, yuan, 258 * YUAN, ("programme", "dibao"))
    amounts = [FigureRef("subsidies", "paid.amount", ("programme", p)) for p in DISABILITY_PROGRAMMES]
    people = [FigureRef("subsidies", "paid.people", ("programme", p)) for p in DISABILITY_PROGRAMMES]
    return (
        "兜底保障方面:落实了贫困户低保延期渐退政策;新纳入低保",
        _paid(f, "enrolled.new_households", Unit.HOUSEHOLDS, "dibao", count("户"), 279),
        "、",
        _paid(f, "enrolled.new_people", Unit.PEOPLE, "dibao", count("人"), 623),
        ",新纳入特困供养",
        _paid(f, "enrolled.new_people", Unit.PEOPLE, "extreme_poverty_support", count("人"), 174),
        ";农村居民最低生活保障标准为每人每年",
        # not 12 × the 258 below: the seed's 5,160 a year (430 a month) is the standard, 258 the top-up paid
        missing("农村居民最低生活保障年标准", "5160元"),
        ",发放补差每人每月",
        monthly,
        ",发放农村低保对象价格临时补贴",
        missing("农村低保对象价格临时补贴", "101.94万元"),
        ";临时救助困难群众",
        _paid(f, "paid.person_times", Unit.PERSON_TIMES, "temporary_assistance", count("人次"), 35),
        ",发放临时救助金",
        _paid(f, "paid.amount", Unit.FEN, "temporary_assistance", wan, 64_000 * YUAN),
        ",将乡镇临时救助备用金额度提高至",
        missing("乡镇临时救助备用金额度", "5万元"),
        ";落实残疾人“两项补贴”",
        f.derived(
            "subsidies", "sum(paid.amount of the two disability subsidies)", Unit.FEN, f.total(amounts), wan, 335 * WAN
        ),
        ",帮扶",  # a person paid both subsidies is counted in each
        f.derived(
            "subsidies",
            "sum(paid.people of the two disability subsidies)",
            Unit.PEOPLE,
            f.total(people),
            count("人"),
            7927,
        ),
        ";落实经济困难老年人享受补贴",
        missing("享受补贴的经济困难老年人数", "2987人"),
        "。",
    )


def water_and_others(f: Filler) -> tuple[Part, ...]:
    return (
        "饮水安全方面:成立了水利行业扶贫政策落实自查整改领导小组,安排",
        missing("检查人员及检查组", "78名同志分7个检查组"),
        "对",
        f.fig("households", "water.checked", Unit.HOUSEHOLDS, count("户"), 3452),
        "贫困户、",
        f.fig("households", "monitoring.households", Unit.HOUSEHOLDS, count("户"), 23),
        "即时帮扶户供水情况开展全面检查,期末饮水不安全",
        f.fig("households", "water.unsafe", Unit.HOUSEHOLDS, count("户")),
        "。其他行业扶贫方面:组织开展了上门评残活动,累计上门办证",
        missing("上门办证人次", "100人次"),
        ",办理残疾证",
        f.fig("households", "disability.certified", Unit.PEOPLE, count("人"), 454),
        ";累计为",
        missing("获发无障碍器材的建档立卡贫困重度残疾人数", "1169名"),
        "建档立卡贫困重度残疾人发放了无障碍器材;享受建档立卡残疾人精准康复服务",
        missing("享受精准康复服务的建档立卡残疾人数", "2288人"),
        "。对劳动年龄内有劳动能力的贫困人员开展了遍访活动,托底安置贫困人口",
        missing("托底安置的贫困人口数", "121人"),
        ",为往年",
        missing("往年公益性岗位人员数", "84名"),
        "公益性岗位人员拨付公益性岗位补贴",
        missing("往年公益性岗位补贴", "15.4万元"),
        ",社会保险补贴",
        missing("公益性岗位社会保险补贴", "0.25万元"),
        ";为",
        _paid(f, "paid.people", Unit.PEOPLE, "pension_premium_subsidy", count("名"), 2144),
        "符合政府代缴条件的贫困人员代缴保费",
        _paid(f, "paid.amount", Unit.FEN, "pension_premium_subsidy", wan, 214_400 * YUAN),
        ";落实",
        missing("提前领取养老金的55—59周岁贫困人员数", "90名"),
        "55—59周岁贫困人员提前领取养老金的发放工作。开展“金晖助老”青春扶贫志愿者行动,招募",
        missing("志愿者人数", "78名"),
        "志愿者与",
        missing("结成帮扶对子的贫困老人数", "39名"),
        "贫困老人结成帮扶对子。组织开展了科技特派员下乡,实现",
        missing("科技特派员覆盖的重点贫困村数", "34个"),
        "重点贫困村和种植扶贫项目全覆盖。开展了",
        missing("开展脱贫摘帽“回头看”的省定贫困村数", "34个"),
        "省定贫困村脱贫摘帽“回头看”。",
    )


def sector_policies(f: Filler, period: Period, whole: str) -> Paragraph:
    return Paragraph(
        "(四)扎实落实行业扶贫政策。",
        (
            *housing(f, period, whole),
            *education_and_medical(f),
            *safety_net(f),
            *water_and_others(f),
        ),
    )
