"""User-facing text: the one place for every string a planner sees.

Maps, reports and the command line take their visible words from :data:`STRINGS` through
:func:`t`, in Chinese (``"zh"``, the default) or English (``"en"``). Code never writes a
visible label inline: add a key here, with both languages, and look it up.

Strings may hold ``str.format`` fields (``{name}``); both languages of a key use the same
fields. The strings are plain text: callers that put them into HTML escape them there.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LANGS", "STRINGS", "t"]

LANGS: Final[tuple[str, str]] = ("zh", "en")

STRINGS: Final[dict[str, tuple[str, str]]] = {
    # command line and report
    "run_done": ("结果已写入", "Results written to"),
    "map": ("地图", "Map"),
    "plan": ("方案", "Plan"),
    "summary": ("摘要", "Summary"),
    # school levels, decisions, solve status
    "level_primary": ("小学", "primary"),
    "level_junior": ("初中", "junior"),
    "level_nine_year": ("九年一贯制", "nine-year"),
    "level_teaching_point": ("教学点", "teaching point"),
    "decision_keep": ("保留", "kept"),
    "decision_close": ("撤并", "closed"),
    "decision_new": ("新建", "new"),
    "decision_expand": ("扩建", "expanded"),
    "status_optimal": ("最优(已证明)", "optimal (proven)"),
    "status_feasible": ("可行(未证明最优)", "feasible (not proven optimal)"),
    # map: title and layers
    "map_title": ("学校布局规划方案：{name}", "School layout plan: {name}"),
    "map_status": ("求解状态：{status}", "Solve status: {status}"),
    "layer_osm": ("OpenStreetMap 底图", "OpenStreetMap base map"),
    "layer_boundary": ("县域边界", "County boundary"),
    "layer_schools": ("学校", "Schools"),
    "layer_villages": ("村庄", "Villages"),
    "layer_catchments_primary": ("小学学区", "Primary catchments"),
    "layer_catchments_junior": ("初中学区", "Junior catchments"),
    "layer_links_primary": ("村—校连线（小学）", "Village–school links (primary)"),
    "layer_links_junior": ("村—校连线（初中）", "Village–school links (junior)"),
    # map: legend
    "legend_title": ("图例", "Legend"),
    "legend_keep": ("保留学校", "School kept"),
    "legend_close": ("撤并学校", "School closed"),
    "legend_new": ("新建学校", "New school"),
    "legend_expand": ("扩建学校", "School expanded"),
    "legend_school_size": (
        "符号大小按规划后学生数（撤并学校按撤并前）：",
        "Symbol size: students after the plan (closed schools: before):",
    ),
    "legend_village": ("村庄（大小按学龄儿童数）", "Village (size: school-age children)"),
    "legend_unassigned": ("有未分配学校的儿童的村庄", "Village with children not assigned"),
    "legend_catchment": ("学区（每校一色）", "Catchment (one colour per school)"),
    # map: popups and tooltips
    "popup_level": ("学段类型", "Level"),
    "popup_township": ("乡镇", "Township"),
    "popup_decision": ("规划决策", "Decision"),
    "popup_students": ("{level}学生数", "Students, {level}"),
    "popup_classes": ("{level}班级数", "Classes, {level}"),
    "popup_class_size": ("{level}平均班额", "Average class size, {level}"),
    "popup_before": ("规划前", "Before"),
    "popup_after": ("规划后", "After"),
    "popup_classrooms": ("教室数", "Classrooms"),
    "popup_classrooms_added": ("新增教室", "Classrooms added"),
    "popup_utilisation": ("教室利用率", "Classroom use"),
    "popup_travel": ("上学路程（规划后）", "Travel (after)"),
    "popup_mean": ("平均", "mean"),
    "popup_longest": ("最远", "longest"),
    "popup_km_min": ("{km} 公里／{minutes} 分钟", "{km} km / {minutes} min"),
    "popup_children": ("{level}学龄儿童", "Children, {level}"),
    "popup_school": ("{level}就读学校", "School, {level}"),
    "popup_assignment": (
        "{school}（{km} 公里，{minutes} 分钟）",
        "{school} ({km} km, {minutes} min)",
    ),
    "popup_unassigned": ("未分配", "not assigned"),
    "popup_way": ("{level}上学方式", "Way to school, {level}"),
    "popup_school_lower": (
        "低年级（{students} 人）就读教学点",
        "Lower grades ({students} children) at the teaching point",
    ),
    "way_bus": ("乘校车", "school bus"),
    "way_boarding": ("寄宿", "boarding"),
    "popup_bus_riders": ("{level}乘校车学生", "Bus riders, {level}"),
    "popup_boarders": ("{level}寄宿学生", "Boarders, {level}"),
    "tooltip_school": ("{name}（{decision}）", "{name} ({decision})"),
    "tooltip_catchment": (
        "{school}：{level}学区，{students} 名学生，{villages} 个村",
        "{school}: {level} catchment, {students} students, {villages} villages",
    ),
    "tooltip_link": (
        "{village} → {school}（{km} 公里，{minutes} 分钟）",
        "{village} → {school} ({km} km, {minutes} min)",
    ),
    # map: base tiles
    "layer_tiles": ("底图", "Base map"),
    "map_note_gcj02": (
        "注意：底图为 GCJ-02 坐标（高德／腾讯），学校和村庄点位（WGS-84）会偏移数百米。",
        "Note: the base map is in GCJ-02 (AMap/Tencent); schools and villages (WGS-84) "
        "appear offset by hundreds of metres.",
    ),
    # map: comparison of two plans
    "compare_title": ("方案比较", "Plan comparison"),
    "compare_subtitle": ("方案A：{a}　｜　方案B：{b}", "Plan A: {a}  |  Plan B: {b}"),
    "compare_a": ("方案A", "plan A"),
    "compare_b": ("方案B", "plan B"),
    "compare_show_a": ("方案A", "Plan A"),
    "compare_show_b": ("方案B", "Plan B"),
    "layer_catchments_primary_of": ("小学学区（{plan}）", "Primary catchments ({plan})"),
    "layer_catchments_junior_of": ("初中学区（{plan}）", "Junior catchments ({plan})"),
    "layer_schools_of": ("学校（{plan}）", "Schools ({plan})"),
    "layer_changed_schools": ("变化：撤并和新开的学校", "Changes: schools closed or opened"),
    "layer_changed_villages_primary": (
        "变化：换了小学的村",
        "Changes: villages with another primary school",
    ),
    "layer_changed_villages_junior": (
        "变化：换了初中的村",
        "Changes: villages with another junior school",
    ),
    "legend_school_closed": ("方案A开办、方案B撤并的学校", "School open in A, closed in B"),
    "legend_school_opened": ("方案B开办、方案A没有的学校", "School open in B, not in A"),
    "legend_village_changed": ("学校有变化的村", "Village whose school changed"),
    "legend_line_a": ("村到方案A的学校", "Village to its school in A"),
    "legend_line_b": ("村到方案B的学校", "Village to its school in B"),
    "tooltip_school_closed": ("{name}：方案B撤并（方案A开办）", "{name}: closed in B (open in A)"),
    "tooltip_school_opened": ("{name}：方案B开办（方案A没有）", "{name}: open in B (not in A)"),
    "tooltip_village_change": (
        "{village}（{level}）：{a} → {b}",
        "{village} ({level}): {a} → {b}",
    ),
    # report
    "report_title": ("学校布局规划报告：{name}", "School layout plan report: {name}"),
    "compare_report_title": ("方案比较报告", "Plan comparison report"),
    "report_solve": (
        "求解状态：{status}；最优性差距 {gap}；目标值 {objective} 万元；求解器 {solver}；"
        "出行成本：{travel}",
        "Solve status: {status}; gap {gap}; objective {objective} (10,000 yuan); "
        "solver {solver}; travel costs: {travel}",
    ),
    "report_open_map": ("打开交互地图", "Open the interactive map"),
    "report_headline": ("主要数字", "Headline numbers"),
    "report_open_schools": ("规划后开办的学校", "Schools open after the plan"),
    "report_closed_schools": ("撤并的学校", "Schools closed"),
    "report_new_schools": ("新建的学校", "New schools"),
    "report_expanded_schools": ("扩建的学校", "Schools expanded"),
    "report_students": ("{level}学生（已分配）", "{level} students (assigned)"),
    "report_unassigned": ("未分配学校的学生", "Students without a school"),
    "report_mean_travel": ("{level}平均上学路程（公里）", "Mean travel, {level} (km)"),
    "report_bus_riders": ("{level}乘校车学生", "{level} students on the school bus"),
    "report_bus_cost": ("校车费用（万元）", "School-bus cost (10,000 yuan)"),
    "report_boarders": ("{level}寄宿学生", "{level} boarders"),
    "report_boarding_cost": ("寄宿费用（万元）", "Boarding cost (10,000 yuan)"),
    "report_budget": (
        "计入预算的支出 / 预算（万元）",
        "Spent of the budget / budget (10,000 yuan)",
    ),
    "report_change": ("变化（B−A）", "Change (B − A)"),
    "report_compliance": ("规则符合情况", "Compliance with the rules"),
    "report_compliance_note": (
        "表中为违反各项规则的学校数（出行距离一项为村庄数）；“现状”按教育事业统计上报的数字计算，"
        "“–”表示该项未计算。",
        "Schools breaking each rule (for travel: villages); “today” uses the numbers reported "
        "in the education statistics; “–” means not computed.",
    ),
    "rule_school_size": ("学校规模超过上限", "School over the size limit"),
    "rule_class_size": (
        "班额超标（现状）／班级数超过教室数（规划后）",
        "Classes over the size limit (today) / more classes than classrooms (after)",
    ),
    "rule_big_classes_56": ("有 56 人及以上大班额", "Big classes of 56 or more"),
    "rule_super_big_classes_66": ("有 66 人及以上超大班额", "Super-big classes of 66 or more"),
    "rule_class_count": ("班级数超过该类学校上限", "More classes than the school type allows"),
    "rule_small_schools": (
        "低于最小规模且未受保护的学校",
        "Schools under the minimum size, not protected",
    ),
    "rule_travel_limit": ("上学路程超过上限的村", "Villages beyond the travel limit"),
    "report_today": ("现状", "Today"),
    "report_after": ("规划后", "After the plan"),
    "report_travel": ("上学路程（按学生加权）", "Travel to school (weighted by students)"),
    "report_travel_mean_m": ("平均路程（公里）", "Mean distance (km)"),
    "report_travel_median_m": ("中位路程（公里）", "Median distance (km)"),
    "report_travel_p90_m": ("90% 学生不超过（公里）", "90% of students within (km)"),
    "report_travel_max_m": ("最远路程（公里）", "Longest distance (km)"),
    "report_travel_mean_minutes": ("平均时间（分钟）", "Mean time (min)"),
    "report_travel_max_minutes": ("最长时间（分钟）", "Longest time (min)"),
    "report_travel_limit_m": ("距离上限（公里）", "Distance limit (km)"),
    "report_travel_share_within_limit": ("上限以内的学生比例", "Students within the limit"),
    "report_changes": ("撤并、新建和扩建的学校", "Schools closed, built or expanded"),
    "report_no_changes": ("没有学校变化。", "No school changes."),
    "report_col_school": ("学校", "School"),
    "report_col_township": ("乡镇", "Township"),
    "report_col_level": ("类型", "Type"),
    "report_col_decision": ("决策", "Decision"),
    "report_col_before": ("规划前学生数", "Students before"),
    "report_col_after": ("规划后学生数", "Students after"),
    "report_col_change": ("变化", "Change"),
    "report_only_a": (
        "仅方案A开办（方案B撤并或不建）",
        "Open in A only (closed or not built in B)",
    ),
    "report_only_b": (
        "仅方案B开办（方案A撤并或不建）",
        "Open in B only (closed or not built in A)",
    ),
    "report_villages_moved": ("换了学校的村数", "Villages whose school changed"),
    "report_differences": ("两个方案的差别", "Differences between the plans"),
    "report_charts": ("图表", "Charts"),
    "report_balance": (
        "校际均衡（差异系数）",
        "Balance between schools (coefficient of variation)",
    ),
    "report_balance_note": (
        "差异系数 = 各校指标的标准差 ÷ 平均值；"
        "国家优质均衡要求：小学不超过 0.50，初中不超过 0.45。",
        "Coefficient of variation = standard deviation / mean of the indicator across schools; "
        "national quality balance: primary at most 0.50, junior at most 0.45.",
    ),
    "report_warnings": ("运行提示", "Warnings"),
    "report_more_warnings": (
        "……另有 {n} 条提示，见 summary.json。",
        "… and {n} more in summary.json.",
    ),
    # report: charts
    "chart_travel_title": ("{level}：学生上学路程分布", "{level}: travel distance of students"),
    "chart_km": ("路程（公里）", "Distance (km)"),
    "chart_students": ("学生数", "Students"),
    "chart_travel_caption": (
        "按学生人数加权的上学路程分布（路网距离；规划前各村的就读学校未知，故只显示规划后）。",
        "Travel distance weighted by students (on the network; villages' schools before the "
        "plan are not known, so only after is shown).",
    ),
    "chart_travel_caption_compare": (
        "按学生人数加权的上学路程分布（路网距离），方案A与方案B。",
        "Travel distance weighted by students (on the network), plan A and plan B.",
    ),
    "chart_sizes_caption_compare": (
        "开办学校按学生数分组的数量：现状、方案A和方案B。",
        "Open schools by number of students: today, plan A and plan B.",
    ),
    "chart_sizes_title": ("学校规模分布", "School sizes"),
    "chart_school_students": ("每校学生数", "Students per school"),
    "chart_schools": ("学校数", "Schools"),
    "chart_sizes_caption": (
        "开办学校按学生数分组的数量：现状与规划后。",
        "Open schools by number of students: today and after the plan.",
    ),
    # command line: progress
    "cli_running": ("正在规划：{name}", "Planning: {name}"),
    "cli_step_layers": ("读取图层", "reading layers"),
    "cli_step_network": ("读取路网", "reading the road network"),
    "cli_step_costs": ("计算村—校出行成本", "computing village-school travel"),
    "cli_step_solve": ("建立并求解优化模型", "building and solving the model"),
    "cli_step_write": ("写出地图、报告和图层", "writing map, report and layers"),
    "cli_opening": ("正在浏览器中打开地图", "Opening the map in the browser"),
    "status_interrupted": (
        "已中断(当前最优方案,未证明最优)",
        "interrupted (best plan found so far, not proven optimal)",
    ),
    # scenario comparison (planning/compare.py)
    "status_evaluated": (
        "评估(按方案就近入学,未优化)",
        "evaluated (plan as written, nearest school)",
    ),
    "today": ("现状", "today"),
    "metric_title": ("方案比较", "Scenario comparison"),
    "metric_sheet": ("方案比较", "comparison"),
    "metric_status": ("求解状态", "solver status"),
    "metric_schools_open": ("开办学校数", "schools open"),
    "metric_schools_closed": ("撤并学校数", "schools closed"),
    "metric_schools_new": ("新建学校数", "schools built"),
    "metric_schools_expanded": ("扩建学校数", "schools expanded"),
    "metric_students_primary": ("小学在校生", "primary students"),
    "metric_students_junior": ("初中在校生", "junior students"),
    "metric_students_unassigned": ("未分配学生", "students unassigned"),
    "metric_v_school_size": ("超规模学校数(>2000/2500人)", "schools over 2,000/2,500 students"),
    "metric_v_class_size": ("超班额学校数", "schools over the class size"),
    "metric_v_class_count": ("超班数上限学校数", "schools over the class-count limit"),
    "metric_v_small_schools": ("低于最小规模学校数", "schools under the minimum size"),
    "metric_v_travel_limit": ("超出上学距离的村(学段)", "village/levels beyond the travel limit"),
    "metric_cost_build": ("新建投资(万元)", "building cost (10k yuan)"),
    "metric_cost_expansion": ("扩建投资(万元)", "expansion cost (10k yuan)"),
    "metric_cost_capital": ("总投资(万元)", "capital cost (10k yuan)"),
    "metric_bus_riders_primary": ("小学乘校车学生", "primary bus riders"),
    "metric_bus_riders_junior": ("初中乘校车学生", "junior bus riders"),
    "metric_cost_bus": ("校车费用(万元)", "school-bus cost (10k yuan)"),
    "metric_boarders_primary": ("小学寄宿学生", "primary boarders"),
    "metric_boarders_junior": ("初中寄宿学生", "junior boarders"),
    "metric_cost_boarding": ("寄宿费用(万元)", "boarding cost (10k yuan)"),
    "metric_budget": ("预算(万元)", "budget (10k yuan)"),
    "metric_against_budget": ("计入预算的支出(万元)", "spent of the budget (10k yuan)"),
    "metric_objective": ("目标函数值", "objective"),
    "metric_gap": ("最优性间隙", "optimality gap"),
    "metric_primary_mean_m": ("小学平均上学距离(米)", "primary mean trip (m)"),
    "metric_primary_median_m": ("小学上学距离中位数(米)", "primary median trip (m)"),
    "metric_primary_p90_m": ("小学上学距离90分位(米)", "primary 90th percentile trip (m)"),
    "metric_primary_max_m": ("小学最远上学距离(米)", "primary longest trip (m)"),
    "metric_primary_share_within_limit": (
        "小学距离限值内学生比例",
        "primary share within the limit",
    ),
    "metric_junior_mean_m": ("初中平均上学距离(米)", "junior mean trip (m)"),
    "metric_junior_median_m": ("初中上学距离中位数(米)", "junior median trip (m)"),
    "metric_junior_p90_m": ("初中上学距离90分位(米)", "junior 90th percentile trip (m)"),
    "metric_junior_max_m": ("初中最远上学距离(米)", "junior longest trip (m)"),
    "metric_junior_share_within_limit": ("初中距离限值内学生比例", "junior share within the limit"),
    # balance indicators, hand-off workbook (planning/balance.py, planning/handoff.py)
    "balance_teachers_qualified": (
        "每百名学生拥有高于规定学历教师数",
        "Teachers above the required qualification per 100 students",
    ),
    "balance_teachers_backbone": (
        "每百名学生拥有县级以上骨干教师数",
        "County-level or higher backbone teachers per 100 students",
    ),
    "balance_teachers_pe_art": (
        "每百名学生拥有体育、艺术专任教师数",
        "PE and art teachers per 100 students",
    ),
    "balance_floor_area": (
        "生均教学及辅助用房面积",
        "Teaching and auxiliary floor area per student",
    ),
    "balance_sports_area": ("生均体育运动场馆面积", "Sports ground area per student"),
    "balance_equipment_value": ("生均教学仪器设备值", "Teaching equipment value per student"),
    "balance_multimedia_rooms": (
        "每百名学生拥有网络多媒体教室数",
        "Multimedia classrooms per 100 students",
    ),
    "unit_per_100_students": ("每百名学生", "per 100 students"),
    "unit_m2_per_student": ("平方米/生", "m² per student"),
    "unit_yuan_per_student": ("元/生", "yuan per student"),
    "exclave_allowed": (
        "保留：本校路网距离不远于周边学区学校",
        "kept: own school no farther by road",
    ),
    "exclave_no_capacity": (
        "未调整：周边学区学校学位不足",
        "not moved: no places at the school around",
    ),
    "exclave_beyond_limit": (
        "未调整：周边学区学校超出上学距离上限",
        "not moved: the school around is beyond the travel limit",
    ),
    "exclave_not_adjacent": (
        "未调整：与周边学区不相邻（飞地外侧的村未能调整）",
        "not moved: not next to the catchment around (outer villages could not move)",
    ),
    "exclave_no_neighbour": ("未调整：没有相邻学区", "not moved: no neighbouring catchment"),
    "land_basis_type": ("标准设计用地", "standard design"),
    "land_basis_norm": ("生均用地指标", "land norm per student"),
    "xlsx_yes": ("是", "yes"),
    "xlsx_no": ("否", "no"),
    "xlsx_sheet_new_sites": ("新建学校用地", "New school sites"),
    "xlsx_sheet_closed_sites": ("撤并学校校舍", "Closed school sites"),
    "xlsx_sheet_balance": ("校际均衡", "Balance"),
    "xlsx_sheet_contiguity_changes": ("学区调整", "Catchment changes"),
    "xlsx_sheet_exclaves": ("学区飞地", "Catchment exclaves"),
    "xlsx_col_school_id": ("学校代码", "School id"),
    "xlsx_col_name": ("学校名称", "Name"),
    "xlsx_col_township": ("乡镇", "Township"),
    "xlsx_col_type_id": ("标准设计", "Design"),
    "xlsx_col_level": ("学段类型", "Level"),
    "xlsx_col_classes": ("设计班级数", "Classes (design)"),
    "xlsx_col_places": ("设计学位数", "Places (design)"),
    "xlsx_col_students_primary": ("规划小学学生数", "Primary students (plan)"),
    "xlsx_col_students_junior": ("规划初中学生数", "Junior students (plan)"),
    "xlsx_col_students": ("学生数", "Students"),
    "xlsx_col_land_m2": ("用地需求（平方米）", "Land needed (m²)"),
    "xlsx_col_land_basis": ("用地依据", "Land basis"),
    "xlsx_col_lon": ("经度", "Longitude"),
    "xlsx_col_lat": ("纬度", "Latitude"),
    "xlsx_col_students_primary_before": ("规划前小学学生数", "Primary students before"),
    "xlsx_col_students_junior_before": ("规划前初中学生数", "Junior students before"),
    "xlsx_col_students_before": ("规划前学生数", "Students before"),
    "xlsx_col_floor_area_m2": ("教学及辅助用房面积（平方米）", "Teaching floor area (m²)"),
    "xlsx_col_sports_area_m2": ("体育运动场馆面积（平方米）", "Sports ground area (m²)"),
    "xlsx_col_receiving": ("接收学校", "Receiving school"),
    "xlsx_col_indicator": ("指标", "Indicator"),
    "xlsx_col_unit": ("单位", "Unit"),
    "xlsx_col_schools_before": ("规划前学校数", "Schools before"),
    "xlsx_col_schools_after": ("规划后学校数", "Schools after"),
    "xlsx_col_mean_before": ("规划前均值", "Mean before"),
    "xlsx_col_mean_after": ("规划后均值", "Mean after"),
    "xlsx_col_cv_before": ("规划前差异系数", "CV before"),
    "xlsx_col_cv_after": ("规划后差异系数", "CV after"),
    "xlsx_col_threshold": ("国家标准上限", "National limit"),
    "xlsx_col_ok_before": ("规划前达标", "Within the limit before"),
    "xlsx_col_ok": ("规划后达标", "Within the limit after"),
    "xlsx_col_target": ("本地目标", "Local target"),
    "xlsx_col_meets_target": ("规划后达到本地目标", "Meets the local target after"),
    "xlsx_col_village_id": ("村代码", "Village id"),
    "xlsx_col_from_school": ("原学校", "From school"),
    "xlsx_col_to_school": ("调整后学校", "To school"),
    "xlsx_col_distance_from_m": ("到原学校路程（米）", "Distance to the former school (m)"),
    "xlsx_col_distance_to_m": ("到调整后学校路程（米）", "Distance to the new school (m)"),
    "xlsx_col_round": ("调整轮次", "Round"),
    "xlsx_col_part": ("飞地编号", "Exclave part"),
    "xlsx_col_owner_id": ("周边学区学校", "School around"),
    "xlsx_col_touches_owner": ("与周边学区相邻", "Next to the catchment around"),
    "xlsx_col_distance_own_m": ("到本校路程（米）", "Distance to own school (m)"),
    "xlsx_col_distance_owner_m": ("到周边学区学校路程（米）", "Distance to the school around (m)"),
    "xlsx_col_status": ("处理结果", "Result"),
    "exclave_min_size": (
        "未调整：本校将低于最小规模",
        "not moved: its school would fall under the minimum size",
    ),
}
"""Every visible string: key -> (Chinese, English). Treat as read-only."""


def t(key: str, lang: str = "zh", **fmt: object) -> str:
    """Return the visible text for `key` in `lang`, with `fmt` filled in.

    Parameters
    ----------
    key : str
        Key into :data:`STRINGS`, e.g. ``"decision_close"``.
    lang : {"zh", "en"}, default "zh"
        Language: Chinese or English.
    **fmt
        Values for the ``{field}`` placeholders of the string, if it has any.

    Returns
    -------
    str
        The text, plain (not HTML-escaped).

    Raises
    ------
    KeyError
        If `key` is not in :data:`STRINGS`; the message names the key.
    ValueError
        If `lang` is not one of :data:`LANGS`.
    """
    if lang not in LANGS:
        raise ValueError(f"language must be one of {LANGS}, got {lang!r}")
    try:
        text = STRINGS[key][LANGS.index(lang)]
    except KeyError:
        raise KeyError(f"no visible string with key {key!r} in planning.i18n.STRINGS") from None
    return text.format(**fmt) if fmt else text
