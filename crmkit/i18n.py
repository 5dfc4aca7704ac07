"""Report labels in English and Russian: one table, `t(key, lang)`. Stage and manager names
come from the data as they are and are never translated."""

from __future__ import annotations

import math
import numbers
import re
import string

from crmkit import localize

LABELS: dict[str, tuple[str, str]] = {  # key: (en, ru)
    "stamp": (
        "Window {start} to {end}; the data reach {latest} ({zone}).",
        "Окно: {start} — {end}; данные до {latest} ({zone}).",
    ),
    "marker_all": ("all sources", "все источники"),
    "marker_weighted": ("weighted total", "взвешенный итог"),
    "estimated": ("estimated", "по данным"),
    "given": ("given", "задано"),
    "week_monday": ("Week (from Monday)", "Неделя (с понедельника)"),
    "about_report": ("About this report", "Об отчёте"),
    "data_quality": ("What the data supports", "Что выдерживают данные"),
    "summary_order": (
        "The findings with the most money at stake first, then the others by importance; each "
        "links to its section.",
        "Сначала выводы с наибольшими суммами под риском, затем остальные по важности; у каждого — "
        "ссылка на раздел.",
    ),
    "sheet_none": ("No table was cut short", "Все таблицы показаны целиком"),
    "page": ("Page", "Стр."),
    "time_zone": ("Time zone", "Часовой пояс"),
    "table_deals": ("Deals", "Сделки"),
    "table_stage_changes": ("Stage changes", "Смены этапов"),
    "table_activities": ("Activities", "Активности"),
    "table_users": ("Users", "Пользователи"),
    "table_plans": ("Plans", "Планы"),
    "table_rejects": ("Rejected rows", "Отклонённые строки"),
    "table_pipelines": ("Pipelines", "Воронки"),
    "table_stages": ("Stages", "Этапы"),
    "row_of_table": ("{table} row {row}", "{table}, строка {row}"),
    "example_deal": ("deal {id}", "сделка {id}"),
    "example_activity": ("activity {id}", "активность {id}"),
    "param_db": ("Database", "База данных"),
    "param_time_zone": ("Time zone", "Часовой пояс"),
    "param_as_of": ("As of", "На момент"),
    "param_pipeline": ("Pipeline", "Воронка"),
    "param_owner": ("Manager", "Менеджер"),
    "param_stale_days": ("Stale after, days", "Зависшая после, дней"),
    "param_whatif": ("What-if", "Сценарий «что если»"),
    "param_view": ("View", "Представление"),
    "param_scorecard": ("Scorecard period", "Период сводки"),
    "param_adoption": ("Adoption file", "Файл внедрения"),
    "param_adoption_date": ("Adoption date", "Дата внедрения"),
    "param_last_week": ("Last week", "Последняя неделя"),
    "param_weeks": ("Weeks shown", "Недель в таблице"),
    "param_horizon": ("Horizon", "Горизонт"),
    "param_presale": ("Pre-sale stages", "Предпродажные этапы"),
    "param_simulations": ("Simulations", "Симуляций"),
    "stale_default": ("median won cycle", "медианный цикл выигранной сделки"),
    "every_stage": ("every stage", "каждый этап"),
    "last_two_open_stages": ("the last two open stages", "два последних открытых этапа"),
    "horizon_days": ("{days:@day}", "{days:@day}"),
    "view_name_cohort": ("cohort", "когорта"),
    "view_name_period": ("period", "период"),
    "report_01": ("Pipeline duration", "Длительность сделок"),
    "parameters": ("Parameters", "Параметры"),
    "no_data_chart": (
        "No data for this chart in the window and filters chosen.",
        "Для этого графика нет данных в выбранном окне и фильтрах.",
    ),
    "no_data_table": (
        "Nothing to show here for the window and filters chosen.",
        "Для выбранного окна и фильтров здесь нечего показать.",
    ),
    "data": ("Data", "Данные"),
    "as_of": ("As of", "На момент"),
    "window": ("Window", "Окно"),
    "loaded_at": ("Loaded", "Загружено"),
    "latest_event": ("Latest event", "Последнее событие"),
    "rows": ("rows", "строк"),
    "rejects": ("Rejected rows in loads", "Отклонено строк при загрузке"),
    "quality_note": (
        "{n:,@deal}: {history:,} with stage history ({share:.0%}), {no_created:,} without a creation "
        "date (left out of durations and cohorts), {before:,} closed before created (left out of "
        "durations), {rejects:,@row} rejected in loads.",
        "Сделок: {n:,}; с историей этапов: {history:,} ({share:.0%}); без даты создания: "
        "{no_created:,} (исключены из длительностей и когорт); закрыты раньше создания: {before:,} "
        "(исключены из "
        "длительностей); отклонено строк при загрузке: {rejects:,}.",
    ),
    "money_note": (
        "Money is in {currency}: {priced:,} of {n:,@deal} with an amount ({share:.0%}) converted at "
        "the rate of their close date (open deals: of the report date; latest dated rate {rate_date}); "
        "not priced for want of a rate, and left out of every sum: {unpriced}.",
        "Суммы в {currency}: из {n:,} сделок с суммой пересчитано {priced:,} ({share:.0%}) по курсу на "
        "дату закрытия (открытые — на дату отчёта; последний датированный курс {rate_date}); без курса "
        "и потому не вошли ни в одну сумму: {unpriced}.",
    ),
    "findings": ("Findings", "Выводы"),
    "report_00": ("Data audit", "Аудит данных"),
    "bundle_title": ("CRM sales analytics: audit", "Аналитика продаж в CRM: аудит"),
    "client": ("Client", "Клиент"),
    "author": ("Prepared by", "Подготовил"),
    "prepared": ("Date", "Дата"),
    "summary": ("Executive summary", "Главное"),
    "contents": ("Contents", "Содержание"),
    "appendix": ("Appendix: parameters and data", "Приложение: параметры и данные"),
    "data_versions": ("Data versions (loads)", "Версии данных (загрузки)"),
    "section_failed": ("This section could not be rendered", "Этот раздел не удалось построить"),
    "intro_00": (
        "What the data holds and how far each report can be trusted: every check with its count and "
        "examples, the loads, what was recorded month by month, and a verdict per family of metrics.",
        "Что содержат данные и насколько можно доверять каждому отчёту: все проверки с количеством и "
        "примерами, загрузки, что записывалось по месяцам и вердикт по каждому семейству показателей.",
    ),
    "section_checks": ("Checks", "Проверки"),
    "section_checks_text": (
        "Each check counts deals (or rows) and gives a few ids to look up in the CRM.",
        "Каждая проверка считает сделки (или строки) и приводит несколько идентификаторов для "
        "проверки в CRM.",
    ),
    "section_trust": ("How far to trust the reports", "Насколько доверять отчётам"),
    "section_trust_text": (
        "The share of the data each family of metrics rests on: good from 90%, usable from 60%.",
        "Доля данных, на которую опирается каждое семейство показателей: хорошо от 90 %, годится от 60 %.",
    ),
    "section_coverage": ("Coverage by month", "Покрытие по месяцам"),
    "section_coverage_text": (
        "What was recorded each month: a month with sales but no stage moves or activities is history "
        "the CRM did not hold.",
        "Что записано в каждом месяце: месяц с продажами, но без смен этапов и активностей — история, "
        "которой в CRM не было.",
    ),
    "section_loads": ("Loads", "Загрузки"),
    "section_loads_text": (
        "Every file loaded: rows read = loaded + rejected.",
        "Каждый загруженный файл: прочитано = загружено + отклонено.",
    ),
    "check_name": ("Check", "Проверка"),
    "examples": ("Examples", "Примеры"),
    "found": ("Found", "Найдено"),
    "share": ("Share", "Доля"),
    "share_of_deals": ("Share of deals", "Доля сделок"),
    "no_history": ("Deals with no stage history", "Сделки без истории этапов"),
    "closed_without_date": ("Closed without a close date", "Закрыты без даты закрытия"),
    "closed_before_created": ("Closed before created", "Закрыты раньше создания"),
    "negative_amounts": ("Negative amounts", "Отрицательные суммы"),
    "missing_amounts": ("Missing amounts", "Без суммы"),
    "duplicated_ids": ("Duplicated ids (rows rejected)", "Повторы идентификаторов (строки отклонены)"),
    "stage_skips": ("Deals that skipped a stage", "Сделки с пропуском этапа"),
    "regressions": ("Deals moved back a stage", "Сделки с возвратом на этап"),
    "bulk_moves": (
        "Deals in bulk edits (≥ 20 moves by one user in a minute)",
        "Сделки в массовых правках (≥ 20 перемещений одним пользователем за минуту)",
    ),
    "future_timestamps": ("Timestamps in the future", "Даты в будущем"),
    "flags_contradict_stage": (
        "Deals whose closed or won mark contradicts their stage (the stage is kept)",
        "Сделки, у которых отметка «закрыта» или «выиграна» противоречит этапу (учтён этап)",
    ),
    "rejected_last_load": ("Rows rejected in the last load", "Строк отклонено в последней загрузке"),
    "family": ("Metric family", "Семейство показателей"),
    "supported": ("Supported", "Опирается на"),
    "basis": ("Out of", "Из"),
    "verdict": ("Verdict", "Вердикт"),
    "good": ("good", "хорошо"),
    "usable": ("usable", "годится"),
    "weak": ("weak", "слабо"),
    "durations": (
        "Durations and stages (real stage history)",
        "Длительности и этапы (реальная история этапов)",
    ),
    "win_rates": (
        "Win rates (deals closed in months that record losses)",
        "Доли выигрышей (сделки, закрытые в месяцы с записанными проигрышами)",
    ),
    "amounts": ("Amounts (won deals with an amount)", "Суммы (выигранные со суммой)"),
    "activity": ("Activity (CRM months with activities)", "Активность (месяцы CRM с активностями)"),
    "sources": ("Lead sources (deals with a source)", "Источники (сделки с источником)"),
    "loaded_at_col": ("Loaded", "Загружено"),
    "file_name": ("File", "Файл"),
    "rows_read": ("Read", "Прочитано"),
    "rows_loaded": ("Loaded", "Загружено"),
    "rows_rejected": ("Rejected", "Отклонено"),
    "top_reason": ("Top reason", "Частая причина"),
    "deals_created": ("Deals created", "Создано сделок"),
    "deals_won": ("Deals won", "Выиграно сделок"),
    "stage_moves": ("Stage moves", "Смены этапов"),
    "activities": ("Activities", "Активности"),
    "coverage_title": ("Recorded per month", "Записано по месяцам"),
    "coverage_subtitle": (
        "a line at zero while others are not: history the CRM did not hold",
        "линия на нуле при ненулевых остальных — история, которой в CRM не было",
    ),
    "finding_audit": (
        "{check}: {n} ({share:.1%} of {basis}), e.g. {examples}.",
        "{check}: {n} ({share:.1%} {basis}), например {examples}.",
    ),
    "basis_deals": ("deals", "сделок"),
    "basis_rows_read": ("the rows read", "прочитанных строк"),
    "finding_trust": (
        "{family} rests on {share:.0%} of its basis ({supported} of {basis}): {verdict}.",
        "{family}: опирается на {share:.0%} ({supported} из {basis}) — {verdict}.",
    ),
    "report_05": ("Weekly KPI", "Еженедельные показатели"),
    "intro_05": (
        "The Monday table: leads, clients, refusals, sales, CRM events, calls, proposals, payments and "
        "meetings by week, per manager and per day; the lead balance; how fast leads get a first "
        "contact; and the changes that are real rather than noise.",
        "Таблица на понедельник: лиды, клиенты, отказы, продажи, события в CRM, звонки, КП, оплаты и "
        "встречи по неделям, по менеджерам и по дням; баланс лидов; как быстро лид получает первый "
        "контакт; и изменения, которые реальны, а не случайны.",
    ),
    "advice": ("What to do", "Что делать"),
    "section_kpi_team": ("The team, week by week", "Команда по неделям"),
    "section_kpi_team_text": (
        "Weeks run Monday–Sunday in {zone}. Under each value: the change from the average of the 8 "
        "weeks before, coloured only where ordinary week-to-week swings do not explain it; grey "
        "changes could be chance.",
        "Недели с понедельника по воскресенье, часовой пояс {zone}. Под значением — изменение к "
        "среднему за 8 предыдущих недель; цветом — только если обычные колебания от недели к неделе "
        "его не объясняют, серые изменения могут быть случайностью.",
    ),
    "section_kpi_managers": ("Managers, last week", "Менеджеры за прошлую неделю"),
    "section_kpi_managers_text": (
        "The week of {week}; each manager against their usual share of the team's week, coloured "
        "where beyond noise.",
        "Неделя с {week}; каждый менеджер — против его обычной доли в неделе команды, цветом — "
        "выходящее за пределы шума.",
    ),
    "section_daily": ("Managers by day", "Менеджеры по дням"),
    "section_daily_text": (
        "Every day of the week of {week}; due tomorrow: tasks and planned meetings on the next working day.",
        "Каждый день недели с {week}; на завтра — задачи и запланированные встречи на следующий "
        "рабочий день.",
    ),
    "section_balance": ("Lead balance", "Баланс лидов"),
    "section_balance_text": (
        "Leads / (refusals + sales). Above 1 + {tol:.0%} for {k:@week} running, deals pile up (a clog: "
        "speed up the process or add people); below 1 − {tol:.0%}, leads run short (invest in advertising).",
        "Лиды / (отказы + продажи). Выше 1 + {tol:.0%} {k:@week} подряд — сделки копятся (затор: "
        "ускорьте процесс или добавьте людей); ниже 1 − {tol:.0%} — не хватает лидов (вложитесь в рекламу).",
    ),
    "section_response": ("Lead response time", "Скорость реакции на лид"),
    "section_response_text": (
        "From a lead's creation to the first outbound call, e-mail or meeting. A lead not answered yet "
        "counts as waiting up to the report's moment, not left out, so it lowers the shares.",
        "От создания лида до первого исходящего звонка, письма или встречи. Лид, которому ещё не "
        "ответили, считается ждущим до момента отчёта, а не выбрасывается, — и уменьшает доли.",
    ),
    "section_missed": ("Missed calls", "Пропущенные звонки"),
    "section_missed_text": (
        "Share of inbound calls missed, per manager and hour of day ({zone}).",
        "Доля пропущенных входящих по менеджерам и часам ({zone}).",
    ),
    "section_flags": ("Activity flags", "Сигналы по активности"),
    "section_flags_text": (
        "Activities of the last week (calls, e-mails, meetings, tasks, proposals, payments): a manager "
        "{drop:.0%} or more below what their usual share of the team's work would give, or {drop:.0%} or "
        "more below the team median, is flagged only when ordinary week-to-week swings do not explain "
        "it; of the flags raised, at most 1 in 20 is expected to be chance.",
        "Активности за прошлую неделю (звонки, письма, встречи, задачи, КП, оплаты): менеджер, у "
        "которого их на {drop:.0%} и больше меньше, чем дала бы его обычная доля в работе команды, или "
        "на {drop:.0%} ниже медианы команды, отмечается, только если обычные колебания от недели к "
        "неделе этого не объясняют; из всех сигналов случайным может оказаться не больше 1 из 20.",
    ),
    "needs_stage_history": (
        "Not in this export: no deal's stage changes are recorded, so there is nothing to show here. An "
        "export with them gives it: amoCRM's events, Bitrix24's crm.stagehistory.list, HubSpot's "
        "\"date entered\" properties, Pipedrive's deal flow, Salesforce's OpportunityHistory.",
        "В этой выгрузке этого нет: смены этапов сделок не записаны, показывать здесь нечего. Это даёт "
        "выгрузка с ними: события amoCRM, crm.stagehistory.list Битрикс24, свойства «Date entered» "
        "HubSpot, история сделки Pipedrive, OpportunityHistory Salesforce.",
    ),
    "needs_clients": (
        "Not in this export: no deal names its client (company or contact), so repeat purchases cannot "
        "be told. An export with the deal's company gives it: amoCRM's «Компания», Bitrix24's COMPANY_ID, "
        "HubSpot's associated company, Pipedrive's organization, Salesforce's Account.",
        "В этой выгрузке этого нет: ни у одной сделки не указан клиент (компания или контакт), повторные "
        "покупки не отличить. Это даёт выгрузка с компанией сделки: «Компания» amoCRM, COMPANY_ID "
        "Битрикс24, связанная компания HubSpot, организация Pipedrive, Account Salesforce.",
    ),
    "section_repeat": ("Repeat business", "Повторные продажи"),
    "section_repeat_text": (
        "Won deals from clients who had bought before, and their share of the revenue; of the clients "
        "whose first purchase is at least a year old, how many bought again within that year.",
        "Выигранные сделки с клиентами, которые уже покупали, и их доля в выручке; из клиентов, чья "
        "первая покупка была не меньше года назад, — сколько купили снова в течение этого года.",
    ),
    "n_repeat": ("From returning clients", "От вернувшихся клиентов"),
    "repeat_share": ("Share of won deals", "Доля выигранных"),
    "repeat_revenue_share": ("Share of revenue", "Доля выручки"),
    "n_clients_followed": ("Clients a year on", "Клиентов через год"),
    "return_rate": ("Bought again within a year", "Купили снова за год"),
    "needs_again": (
        "Not in this export either (see «{first}» above).",
        "Этого в выгрузке тоже нет (см. выше «{first}»).",
    ),
    "needs_activities": (
        "Not in this export: no calls, e-mails, meetings or tasks are recorded, so there is nothing to "
        "show here. An export with them gives it: amoCRM's notes and tasks, Bitrix24's crm.activity.list "
        "and telephony, Pipedrive's activities, Salesforce's Task and Event.",
        "В этой выгрузке этого нет: звонки, письма, встречи и задачи не записаны, показывать здесь "
        "нечего. Это даёт выгрузка с ними: примечания и задачи amoCRM, crm.activity.list и телефония "
        "Битрикс24, активности Pipedrive, Task и Event Salesforce.",
    ),
    "reports_index": ("Reports", "Отчёты"),
    "partial_week": ("{start}–{end}, so far", "{start}–{end}, неполная"),
    "partial_week_note": (
        "The last column: the days of the week not yet over, up to the report's moment; not compared "
        "with the full weeks, and what falls due after it is not known yet.",
        "Последний столбец — дни ещё не закончившейся недели, до момента отчёта; с полными неделями "
        "не сравнивается, а что придётся на следующий рабочий день, пока неизвестно.",
    ),
    "block": ("Block", "Показатель"),
    "kpi_note": (
        "Beneath each value: the change from what was expected — the team's average of the 8 weeks "
        "before, a manager's usual share of the team's week; green or red only where ordinary swings "
        "do not explain it (at most 1 in 20 coloured changes is chance), grey where they could.",
        "Под значением — отклонение от ожидаемого: для команды — от среднего за 8 предыдущих недель, "
        "для менеджера — от его обычной доли в неделе команды; зелёным или красным — только если "
        "обычные колебания его не объясняют (случайным может быть не больше 1 из 20 цветных), "
        "серым — если могут объяснить.",
    ),
    "new_clients": ("New clients", "Новые клиенты"),
    "client_base": ("Client base", "Клиентская база"),
    "refusals": ("Refusals", "Отказы"),
    "sales": ("Sales", "Продажи"),
    "sales_amount": ("Sales amount", "Сумма продаж"),
    "crm_events": ("CRM events", "События в CRM"),
    "calls_in": ("Inbound calls", "Входящие звонки"),
    "calls_out": ("Outbound calls", "Исходящие звонки"),
    "calls_missed": ("Missed calls", "Пропущенные"),
    "missed_share": ("Missed share", "Доля пропущенных"),
    "call_minutes": ("Call minutes", "Минуты разговоров"),
    "proposals": ("Proposals sent", "Отправлено КП"),
    "proposals_amount": ("Proposals amount", "Сумма КП"),
    "payments": ("Payments", "Оплаты"),
    "payments_amount": ("Payments amount", "Сумма оплат"),
    "meetings_held": ("Meetings held", "Проведено встреч"),
    "due_next_day": ("Due next working day", "На следующий рабочий день"),
    "lead_balance": ("Lead balance", "Баланс лидов"),
    "state": ("State", "Состояние"),
    "clog": ("clog", "затор"),
    "shortage": ("shortage", "нехватка"),
    "balanced": ("balanced", "баланс"),
    "no_flow": ("no leads, no closes", "ни лидов, ни закрытий"),
    "diagnosis": ("Diagnosis", "Диагноз"),
    "n_answered": ("Answered", "С ответом"),
    "n_never": ("Never answered", "Без ответа"),
    "median_minutes": (
        "Median, minutes",
        "Медиана, мин",
    ),
    "within_15m": ("Within 15 min", "За 15 минут"),
    "within_1d": ("Within a day", "За сутки"),
    "missed": ("Missed", "Пропущено"),
    "day": ("Day", "День"),
    "calls_day": ("Calls", "Звонки"),
    "week_before": ("Week before", "Неделя до"),
    "baseline": ("Expected", "Ожидалось"),
    "ratio_to_median": ("× team median", "× медиана команды"),
    "p_fall": ("p (fall)", "p (падение)"),
    "is_fall": ("Fall", "Падение"),
    "is_low": ("Far below median", "Сильно ниже медианы"),
    "hour": ("Hour", "Час"),
    "trends_title": ("Leads, refusals and sales per week", "Лиды, отказы и продажи по неделям"),
    "balance_title": ("Lead balance: leads / (refusals + sales)", "Баланс лидов: лиды / (отказы + продажи)"),
    "balance_subtitle": ("band: balanced (1 ± {tol:.0%})", "полоса — баланс (1 ± {tol:.0%})"),
    "events_title": ("Activities per manager per week", "Активности по менеджерам и неделям"),
    "events_subtitle": ("red: flagged last week", "красным — сигнал за прошлую неделю"),
    "missed_title": (
        "Missed share of inbound calls by hour ({zone})",
        "Доля пропущенных входящих по часам ({zone})",
    ),
    "missed_subtitle": ("bars: share; hover for n", "столбцы — доля; n во всплывающей подсказке"),
    "advice_clog": (
        "Deals pile up: over the last {k:@week}, {leads} leads came in and {closes} deals closed "
        "(leads / (refusals + sales) = {ratio:.2f}, above 1 + {tol:.0%}). Act: "
        "speed up the process or add people. Affects: cycle time and conversion.",
        "Сделки копятся: за последние {k} нед. пришло {leads} лидов, закрыто {closes} сделок (лиды / "
        "(отказы + продажи) = {ratio:.2f}, выше 1 + {tol:.0%}). Что "
        "делать: ускорить процесс или добавить людей. Влияет на длительность цикла и конверсию.",
    ),
    "advice_shortage": (
        "Leads run short: over the last {k:@week}, {leads} leads came in and {closes} deals closed "
        "(leads / (refusals + sales) = {ratio:.2f}, below 1 − {tol:.0%}). "
        "Act: invest in advertising, starting with the sources that convert (report 06). Affects: sales "
        "in the coming weeks.",
        "Лидов не хватает: за последние {k} нед. пришло {leads} лидов, закрыто {closes} сделок (лиды / "
        "(отказы + продажи) = {ratio:.2f}, ниже 1 − {tol:.0%}). Что "
        "делать: вложиться в рекламу, начиная с конвертирующих источников (отчёт 06). Влияет на продажи "
        "ближайших недель.",
    ),
    "advice_fall": (
        "{name}: {change:.0%} fewer activities than expected ({now:,.0f} against {before:,.0f}). Act: talk "
        "to the manager — workload, absence, or work moved outside the CRM. Affects: what the pipeline "
        "shows and the next weeks' sales.",
        "{name}: активностей на {change:.0%} меньше ожидаемого ({now:.0f} вместо {before:.0f}). Что делать: "
        "поговорить с менеджером — загрузка, отсутствие или работа вне CRM. Влияет на видимость воронки "
        "и продажи ближайших недель.",
    ),
    "advice_low": (
        "{name}: {now:,.0f@activity}, {ratio:.0%} of the team median {median:,.0f}. Act: check "
        "workload and CRM habits.",
        "{name}: {now:.0f@activity} — {ratio:.0%} медианы команды {median:.0f}. Что делать: "
        "проверить загрузку и привычку работать в CRM.",
    ),
    "advice_missed": (
        "{share:.0%} of inbound calls were missed (95% CI {low:.0%}–{high:.0%}, n={n}); worst at {hour}:00. "
        "Act: call back within the hour, route calls to free managers. Affects: lead response and "
        "conversion.",
        "Пропущено {share:.0%} входящих (95 % ДИ {low:.0%}–{high:.0%}, n={n}); хуже всего в {hour}:00. Что "
        "делать: перезванивать в течение часа, переадресовывать свободным менеджерам. Влияет на скорость "
        "реакции и конверсию.",
    ),
    "advice_response": (
        "Half the leads wait more than {median:.0f@minute} for a first contact "
        "(95% CI {low:.0f}–{high:.0f}, "
        "n={n}); {within:.0%} get one within 15 minutes. Act: a first call within 15 minutes of a lead. "
        "Affects: conversion of new leads.",
        "Половина лидов ждёт первого контакта дольше {median:.0f} мин. (95 % ДИ {low:.0f}–{high:.0f}, "
        "n={n}); за 15 минут — лишь {within:.0%}. Что делать: первый звонок в течение 15 минут. Влияет "
        "на конверсию новых лидов.",
    ),
    "report_04": ("CRM adoption: effect and ROI", "Внедрение CRM: эффект и окупаемость"),
    "intro_04": (
        "What changed after the CRM came in, with seasonality controlled, what it earned against what "
        "it cost, and how far the goals were met.",
        "Что изменилось после внедрения CRM с учётом сезонности, сколько это принесло против затрат и "
        "насколько достигнуты цели.",
    ),
    "section_series": ("Before and after", "До и после"),
    "section_series_text": (
        "Monthly revenue; the line marks adoption on {date}. Every estimate leaves out {ramp:@month} of "
        "ramp-up after it: the CRM starts empty while deals in progress are never entered. The band is "
        "revenue as the model expects it without the CRM (95%).",
        "Выручка по месяцам; линия — внедрение {date}; оценки не учитывают {ramp:@month} разгона после "
        "него: CRM начинается пустой, а сделки в работе в неё не заносятся. Полоса — выручка, какой "
        "модель ожидает её без CRM (95 %).",
    ),
    "section_effect": ("Effect per metric", "Эффект по показателям"),
    "section_effect_text": (
        "Three readings of the change after adoption: the naive before/after difference (what is "
        "usually quoted), the same months a year earlier, and the segmented regression (month of year, "
        "level and slope change{trend_note}). Only the last two control for seasonality. Win rate and "
        "cycle time exist only where the CRM recorded losses and creation dates, so they are shown as "
        "series, not compared.",
        "Три оценки изменения после внедрения: наивная разница до/после (её обычно и называют), те же "
        "месяцы годом ранее и сегментированная регрессия (месяц года, сдвиг уровня и наклона{trend_note}). "
        "Сезонность учитывают только две последние. Доля выигрышей и длительность цикла есть лишь там, "
        "где CRM записывала проигрыши и даты создания, поэтому они показаны рядом, а не сравниваются.",
    ),
    "trend_note": ("", ""),
    "no_trend_note": (
        "; with less than two years before adoption no underlying trend can be told "
        "apart from the shift, so the model assumes none",
        "; при истории до внедрения меньше двух лет тренд не отделить от сдвига, поэтому "
        "модель считает, что его нет",
    ),
    "section_roi": ("Return on the investment", "Окупаемость"),
    "section_roi_text": (
        "Incremental gross profit = the estimated revenue effect × gross margin {margin:.0%}. Costs: "
        "{one_off} once, then {monthly} a month in licences. ROI = (incremental gross profit − costs) / "
        "costs. Intervals come from the regression's uncertainty.",
        "Дополнительная валовая прибыль = оценённый эффект на выручку × валовая маржа {margin:.0%}. "
        "Затраты: {one_off} единовременно и {monthly} в месяц на лицензии. ROI = (доп. валовая прибыль − "
        "затраты) / затраты. Интервалы — из неопределённости регрессии.",
    ),
    "section_goals": ("Goals", "Цели"),
    "section_goals_text": (
        "Each goal's change — estimated by the regression, or given in the adoption file — against its "
        "target, attainment capped at 100%, weighted.",
        "Изменение по каждой цели — оценка регрессии или значение из файла внедрения — против цели, "
        "достижение не больше 100 %, с весами.",
    ),
    "section_caveats": ("Caveats", "Оговорки"),
    "section_caveats_text": (
        "A CRM also changes how completely deals are recorded: part of an “increase” can be deals that "
        "were always there but never written down. Revenue per active manager controls for headcount, "
        "not for experience or turnover. Promotion months ({promotions}) are flagged; the sensitivity "
        "run leaves them out.",
        "CRM меняет и полноту учёта: часть «роста» — сделки, которые были всегда, но не записывались. "
        "Выручка на активного менеджера учитывает численность, но не опыт и текучесть. Месяцы акций "
        "({promotions}) отмечены; проверка на устойчивость их исключает.",
    ),
    "metric": ("Metric", "Показатель"),
    "n_before": ("Months before", "Месяцев до"),
    "n_after": ("Months after", "Месяцев после"),
    "naive": ("Naive before/after", "Наивно до/после"),
    "yoy": ("Same months a year earlier", "Те же месяцы год назад"),
    "segmented": ("Segmented regression", "Сегментированная регрессия"),
    "segmented_no_promotions": ("… without promotion months", "… без месяцев акций"),
    "n_won_metric": ("Won deals", "Выигранные сделки"),
    "revenue_per_manager": ("Revenue per active manager", "Выручка на активного менеджера"),
    "incremental_revenue": ("Incremental revenue", "Дополнительная выручка"),
    "incremental_gross_profit": ("Incremental gross profit", "Дополнительная валовая прибыль"),
    "total_cost": ("Costs to date", "Затраты на сегодня"),
    "roi": ("ROI", "ROI"),
    "payback_month": ("Payback month", "Месяц окупаемости"),
    "months_after": ("Months since adoption", "Месяцев после внедрения"),
    "goal": ("Goal", "Цель"),
    "target": (
        "Target",
        "Целевое изменение",
    ),
    "attainment": ("Attainment", "Достижение"),
    "weight": ("Weight", "Вес"),
    "series_title": (
        "Monthly revenue before and after CRM adoption",
        "Выручка по месяцам до и после внедрения CRM",
    ),
    "series_subtitle": (
        "{currency}; red line: adoption; band: expected without the CRM (95%); hollow: left out",
        "{currency}; красная линия — внедрение; полоса — ожидание без CRM (95 %); полые — исключены",
    ),
    "effect_title": (
        "Change after adoption by method, 95% CI",
        "Изменение после внедрения по методам, 95 % ДИ",
    ),
    "effect_subtitle": (
        "relative change; the naive reading has no interval",
        "относительное изменение; у наивной оценки интервала нет",
    ),
    "payback_title": (
        "Cumulative cost against cumulative incremental gross profit",
        "Накопленные затраты против накопленной доп. валовой прибыли",
    ),
    "payback_subtitle": ("{currency}; band: 95%", "{currency}; полоса — 95 %"),
    "cost": ("Cost", "Затраты"),
    "counterfactual": ("Expected without the CRM", "Ожидание без CRM"),
    "period": ("Period", "Период"),
    "before": ("before", "до"),
    "ramp": ("ramp-up", "разгон"),
    "after": ("after", "после"),
    "active_managers": ("Active managers", "Активные менеджеры"),
    "median_cycle_days": ("Median cycle, days", "Медианный цикл, дни"),
    "promotion": ("Promotion month", "Месяц акции"),
    "gain": ("Gross profit gained", "Полученная валовая прибыль"),
    "method": ("Method", "Метод"),
    "change": ("Change", "Изменение"),
    "finding_adoption_effect": (
        "After adoption, {metric} changed by {effect:+.0%} (95% CI {low:+.0%} to {high:+.0%}) with "
        "seasonality controlled; the naive before/after figure is {naive:+.0%}.",
        "После внедрения {metric}: {effect:+.0%} (95 % ДИ от {low:+.0%} до {high:+.0%}) с учётом "
        "сезонности; наивная разница до/после — {naive:+.0%}.",
    ),
    "finding_roi": (
        "ROI to date {roi:+.0%} (95% CI {low:+.0%} to {high:+.0%}): {gain} incremental gross profit "
        "against {cost} of costs; paid back in month {payback} in {share:.0%} of simulations.",
        "ROI на сегодня {roi:+.0%} (95 % ДИ от {low:+.0%} до {high:+.0%}): {gain} доп. валовой прибыли "
        "против {cost} затрат; окупилось к {payback}-му месяцу в {share:.0%} симуляций.",
    ),
    "finding_goals": ("Weighted goal attainment: {score:.0%}.", "Взвешенное достижение целей: {score:.0%}."),
    "finding_adoption_effect_inconclusive": (
        "After adoption, {metric} changed by {effect:+.0%} with seasonality controlled, but the 95% CI "
        "({low:+.0%} to {high:+.0%}) spans zero: inconclusive, the data cannot yet tell a gain from a "
        "loss; the naive before/after figure is {naive:+.0%}.",
        "После внедрения {metric}: {effect:+.0%} с учётом сезонности, но 95 % ДИ (от {low:+.0%} до "
        "{high:+.0%}) включает ноль: результат не определён, данные пока не отличают рост от "
        "падения; наивная разница до/после — {naive:+.0%}.",
    ),
    "finding_roi_inconclusive": (
        "ROI to date is inconclusive: {roi:+.0%}, but its 95% CI ({low:+.0%} to {high:+.0%}) spans "
        "zero; {gain} incremental gross profit against {cost} of costs; paid back in month {payback} "
        "in {share:.0%} of simulations.",
        "ROI на сегодня не определён: {roi:+.0%}, но 95 % ДИ (от {low:+.0%} до {high:+.0%}) включает "
        "ноль; {gain} доп. валовой прибыли против {cost} затрат; окупилось к {payback}-му месяцу в "
        "{share:.0%} симуляций.",
    ),
    "report_06": ("Lead sources and forecast", "Источники лидов и прогноз"),
    "intro_06": (
        "Which lead sources bring customers, judged on leads old enough to have converted, and how "
        "much revenue the late-stage deals will bring within the horizon, with its range and a "
        "backtest of how well such forecasts did.",
        "Какие источники приводят клиентов — по лидам, у которых было время сконвертироваться, — и "
        "сколько выручки принесут сделки поздних этапов за горизонт прогноза, с диапазоном и "
        "проверкой на прошлых датах.",
    ),
    "section_sources": ("Lead sources", "Источники лидов"),
    "section_sources_text": (
        "Leads created in the window. Lead → won is taken over mature leads, older than {days:.0f} "
        "days (the 75th percentile of the won cycle), so young leads do not drag a new source down; "
        "“won by day {days:.0f}” counts every lead, the open ones as still undecided. A source is weak when "
        "its whole 95% interval lies below the rate of all sources.",
        "Лиды, созданные в окне. Конверсия в выигрыш — по зрелым лидам старше {days:.0f} дн. "
        "(75-й перцентиль цикла выигранной сделки), чтобы молодые лиды не занижали новый источник; "
        "«выиграно к {days:.0f}-му дню» учитывает все лиды, открытые — как ещё не решённые. Источник "
        "слабый, если весь его 95 % интервал ниже уровня всех источников.",
    ),
    "section_source_owner": ("Who converts which source", "Кто какой источник конвертирует"),
    "section_source_owner_text": (
        "Mature-lead conversion per source and manager.",
        "Конверсия зрелых лидов по источникам и менеджерам.",
    ),
    "section_leads_monthly": ("Leads per month", "Лиды по месяцам"),
    "section_leads_monthly_text": ("New leads per source per month.", "Новые лиды по источникам по месяцам."),
    "section_forecast": ("Forecast", "Прогноз"),
    "section_forecast_text": (
        "Open deals in the pre-sale stages ({stages}). Each is compared with every deal of the window "
        "that stayed at least as long in its stage, won, lost or still open: how many of them were won "
        "within the next {days:.0f@day}. {sims} simulations give P10 / P50 / P90 of the revenue closing "
        "won in that time, and the range is widened until it held 8 in 10 of the past months' "
        "outcomes. The weighted pipeline beside it (amount × stage win rate) ignores timing and waiting.",
        "Открытые сделки на предпродажных этапах ({stages}). Каждая сравнивается со всеми сделками "
        "окна, которые стояли на её этапе не меньше, — выигранными, проигранными и ещё открытыми: "
        "сколько из них выиграно за следующие {days:.0f} дн. {sims} симуляций дают P10 / P50 / P90 "
        "выручки от выигранных за это время, а диапазон расширен так, чтобы он накрыл 8 из 10 "
        "исходов прошлых месяцев. Взвешенная воронка рядом (сумма × доля выигрышей этапа) не "
        "учитывает сроки и ожидание.",
    ),
    "section_forecast_deals": ("Pre-sale deals", "Сделки на предпродажных этапах"),
    "section_forecast_deals_text": (
        "The deals behind the forecast, largest expected revenue first.",
        "Сделки, из которых сложился прогноз, по убыванию ожидаемой выручки.",
    ),
    "section_backtest": ("Backtest", "Проверка на прошлых датах"),
    "section_backtest_text": (
        "The same forecast made at past month starts, seeing only what was known then (its range "
        "set by the months before it), against the revenue those deals actually brought within "
        "{days:.0f@day}. An honest 80% range holds about 8 of 10.",
        "Тот же прогноз на начало прошлых месяцев, по данным того времени (его диапазон — по месяцам "
        "до него), против выручки, которую эти сделки действительно принесли за {days:.0f} дн. "
        "Честный 80 % диапазон накрывает около 8 из 10.",
    ),
    "source": ("Source", "Источник"),
    "leads": ("Leads", "Лиды"),
    "raw_rate": ("Won so far", "Выиграно на сейчас"),
    "n_mature": ("Mature leads", "Зрелые лиды"),
    "mature_rate": ("Lead → won (mature)", "Лид → выигрыш (зрелые)"),
    "horizon_rate": ("Won by the horizon", "Выиграно к горизонту"),
    "is_weak": ("Weak", "Слабый"),
    "month": ("Month", "Месяц"),
    "n_deals": ("Deals", "Сделки"),
    "pipeline_amount": ("Amount", "Сумма"),
    "weighted_pipeline": ("Weighted pipeline", "Взвешенная воронка"),
    "revenue": ("Revenue", "Выручка"),
    "p10": ("P10", "P10"),
    "p50": ("P50", "P50"),
    "p90": ("P90", "P90"),
    "p_win": ("Stage win rate", "Доля выигрышей этапа"),
    "p_win_now": ("Win chance now", "Шанс выигрыша сейчас"),
    "p_in_horizon": ("Won within horizon", "Выигрыш в горизонте"),
    "expected_revenue": ("Expected revenue", "Ожидаемая выручка"),
    "forecast_at": ("Forecast made on", "Дата прогноза"),
    "actual": ("Actual", "Факт"),
    "error": ("Actual − P50", "Факт − P50"),
    "covered": ("Inside P10–P90", "В пределах P10–P90"),
    "sources_title": (
        "Lead → won per source (mature leads), 95% CI",
        "Конверсия лидов по источникам (зрелые), 95 % ДИ",
    ),
    "sources_subtitle": (
        "leads older than {days:.0f@day}; number: mature leads; dashed: all sources; red: weak",
        "лиды старше {days:.0f} дн.; число — зрелые лиды; пунктир — все источники; красным — слабые",
    ),
    "source_owner_title": (
        "Lead → won per source and manager (mature leads)",
        "Конверсия по источникам и менеджерам (зрелые лиды)",
    ),
    "heatmap_subtitle_n": ("faded: fewer than 5 mature leads", "бледные — меньше 5 зрелых лидов"),
    "leads_title": ("New leads per month by source", "Новые лиды по месяцам и источникам"),
    "forecast_title": ("Revenue closing won within {days:@day}", "Выручка от выигранных за {days} дн."),
    "forecast_subtitle": (
        "bar: P10–P90; tick: P50; diamond: weighted pipeline (no timing)",
        "полоса — P10–P90; черта — P50; ромб — взвешенная воронка (без сроков)",
    ),
    "backtest_title": (
        "Backtest: forecast range against what actually closed",
        "Проверка: диапазон прогноза против фактически закрытого",
    ),
    "backtest_subtitle": (
        "band: P10–P90; line: P50; dots: actual",
        "полоса — P10–P90; линия — P50; точки — факт",
    ),
    "advice_weak_source": (
        "Cut or fix «{source}»: it converts {rate:.0%} of mature leads (95% CI {low:.0%}–{high:.0%}, "
        "n={n}) against {overall:.0%} for all sources. At that rate its {leads:@lead} would have brought "
        "about {amount} more. Act: move budget to the sources that convert, or find out why its leads "
        "do not buy.",
        "Сократить или исправить «{source}»: конвертирует {rate:.0%} зрелых лидов (95 % ДИ "
        "{low:.0%}–{high:.0%}, n={n}) против {overall:.0%} по всем источникам. При среднем уровне его "
        "лиды ({leads}) принесли бы примерно на {amount} больше. Что делать: перенести бюджет в "
        "конвертирующие источники или выяснить, почему его лиды не покупают.",
    ),
    "advice_strong_source": (
        "Grow «{source}»: it converts {rate:.0%} of mature leads (95% CI {low:.0%}–{high:.0%}, n={n}) "
        "against {overall:.0%} for all sources; a lead from it brings about {per_lead} against "
        "{average} for an average lead. Act: put more of the budget and attention here.",
        "Развивать «{source}»: конвертирует {rate:.0%} зрелых лидов (95 % ДИ {low:.0%}–{high:.0%}, "
        "n={n}) против {overall:.0%} по всем источникам; лид из него приносит около {per_lead} против "
        "{average} у среднего лида. Что делать: направить сюда больше бюджета и внимания.",
    ),
    "finding_weak_source": (
        "«{source}» converts {rate:.0%} of mature leads (95% CI {low:.0%}–{high:.0%}, n={n}) against "
        "{overall:.0%} for all sources; {leads:@lead} came from it in the window.",
        "«{source}» конвертирует {rate:.0%} зрелых лидов (95 % ДИ {low:.0%}–{high:.0%}, n={n}) против "
        "{overall:.0%} по всем источникам; лидов из него за окно: {leads}.",
    ),
    "finding_young_source": (
        "«{source}» is too young to judge: {n:@lead}, {mature} of them mature.",
        "«{source}» слишком молод для оценки: {n:@lead}, из них зрелых {mature}.",
    ),
    "finding_forecast": (
        "Within {days:.0f@day}, {n} pre-sale deals should bring {p50} won (P10 {p10} – P90 {p90}); "
        "the weighted pipeline says {weighted}, with no timing.",
        "За {days:.0f} дн. {n:@deal} предпродажных этапов должны принести {p50} (P10 {p10} – P90 "
        "{p90}); взвешенная воронка без учёта сроков даёт {weighted}.",
    ),
    "finding_backtest": (
        "Backtest: what actually closed fell inside P10–P90 at {covered} of {dates} past dates "
        "({share:.0%}, 95% CI {low:.0%}–{high:.0%}; an 80% range should hold about 8 of 10); median "
        "error {error} against P50.",
        "Проверка: фактическая выручка попала в P10–P90 в {covered} из {dates} прошлых дат "
        "({share:.0%}, 95 % ДИ {low:.0%}–{high:.0%}; 80 % диапазон должен накрывать около 8 из 10); "
        "медианная ошибка относительно P50 — {error}.",
    ),
    "finding_backtest_none": (
        "Backtest: no past date could be judged (no amounts, or too little history before it): "
        "the forecast's range is not yet checked against what happened.",
        "Проверка: ни одну прошлую дату не удалось проверить (нет сумм или слишком короткая история "
        "до неё): диапазон прогноза ещё не сверен с тем, что произошло.",
    ),
    "finding_forecast_unknown": (
        "No revenue forecast: {n:@deal} sit in the pre-sale stages, and none has both an amount and "
        "a history of deals that waited as long.",
        "Прогноза выручки нет: на предпродажных этапах {n:@deal}, и ни у одной нет одновременно суммы "
        "и истории сделок, ждавших так же долго.",
    ),
    "finding_forecast_unpriced": (
        "Left out of the forecast, without an amount: {unpriced:@deal}.",
        "В прогноз не вошли сделки без суммы: {unpriced}.",
    ),
    "finding_forecast_unfollowed": (
        "Left out of the forecast, waiting longer than any deal the history followed: {unknown:@deal}.",
        "В прогноз не вошли сделки, ждущие дольше любой сделки в истории: {unknown}.",
    ),
    "report_03": ("Manager funnels and KPIs", "Воронки и показатели менеджеров"),
    "intro_03": (
        "Which manager loses deals where: the funnel of every manager and the team, stage-to-stage "
        "conversion with intervals, and the scorecard of results, activity and plan.",
        "Кто из менеджеров где теряет сделки: воронка каждого менеджера и команды, конверсия между "
        "этапами с интервалами и сводка результатов, активности и плана.",
    ),
    "section_funnels": ("Funnels", "Воронки"),
    "section_funnels_text": (
        "{view_text} Reached: deals that got to the stage or past it (a skip counts as passing). "
        "Conversion = advanced / (advanced + lost here); deals still at the stage are shown apart.",
        "{view_text} Дошло: сделки, достигшие этапа или прошедшие дальше (пропуск этапа считается "
        "прохождением). Конверсия = продвинулось / (продвинулось + проиграно); сделки, ещё стоящие на "
        "этапе, показаны отдельно.",
    ),
    "view_cohort": (
        "Cohort view: the deals created in the window, followed to the as-of date.",
        "Когортный взгляд: сделки, созданные в окне, до даты отчёта.",
    ),
    "view_period": (
        "Period view: stage stays that ended in the window, and deals at a stage now.",
        "Взгляд за период: пребывания на этапе, завершившиеся в окне, и сделки на этапе сейчас.",
    ),
    "section_conversion": ("Conversion per stage", "Конверсия по этапам"),
    "section_conversion_text": (
        "Each manager's conversion with the range it lies in 19 times out of 20; dashed: the team. "
        "Rankings use the rate evened out toward the team's, so that a manager with few deals is not "
        "first or last by luck.",
        "Конверсия каждого менеджера и диапазон, в котором она лежит в 19 случаях из 20; пунктир — "
        "команда. Рейтинг строится по доле, подтянутой к уровню команды, чтобы менеджер с парой "
        "сделок не оказался первым или последним случайно.",
    ),
    "section_scorecard": ("Scorecard", "Сводка по менеджерам"),
    "section_scorecard_text": (
        "{start} … {end}. Won and lost: deals closed in the period; new leads: created in it; in work: "
        "open at the end. Ranked by win rate evened out toward the team's. Colours compare managers: "
        "green better, red worse.",
        "{start} … {end}. Выиграно и проиграно — сделки, закрытые в периоде; новые лиды — созданные в "
        "нём; в работе — открытые на конец. Рейтинг по доле выигранных, выровненной к уровню команды. "
        "Цвет сравнивает менеджеров: зелёный лучше, красный хуже.",
    ),
    "section_activity": ("Activity and results", "Активность и результат"),
    "section_activity_text": (
        "Calls, e-mails and meetings in the period, and what they turned into.",
        "Звонки, письма и встречи за период и их результат.",
    ),
    "section_plan": ("Plan", "План"),
    "section_plan_text": (
        "Actual ÷ target over the plan months in the period; pace: actual ÷ working days elapsed × "
        "working days planned, ÷ target (Monday–Friday; public holidays not counted).",
        "Факт ÷ план за плановые месяцы периода; темп: факт ÷ прошедшие рабочие дни × рабочие дни "
        "плана, ÷ план (понедельник–пятница; праздники не учитываются).",
    ),
    "reached": ("Reached", "Дошло"),
    "conversion": ("Conversion", "Конверсия"),
    "conversion_shrunk": (
        "Conversion, evened out",
        "Конверсия, выровненная",
    ),
    "share_reached": ("Share of the first stage reaching it", "Доля дошедших от первого этапа"),
    "funnels_title": ("Funnel per manager", "Воронка по менеджерам"),
    "funnels_subtitle": (
        "{pipeline}; bar: share of the deals at the first stage that reached the stage; label: deals",
        "{pipeline}; полоса — доля сделок первого этапа, дошедших до этапа; число — сделки",
    ),
    "conversion_title": ("Conversion to the next stage, 95% CI", "Конверсия на следующий этап, 95 % ДИ"),
    "conversion_subtitle": (
        "{pipeline}; dashed: team; grey: n < 5",
        "{pipeline}; пунктир — команда; серым — n < 5",
    ),
    "rank": ("Rank", "Место"),
    "deals_in_work": ("In work", "В работе"),
    "open_pipeline": ("Open pipeline", "Открытые сделки, сумма"),
    "new_leads": ("New leads", "Новые лиды"),
    "n_won": ("Won", "Выиграно"),
    "avg_check": ("Average check", "Средний чек"),
    "median_check": ("Median check", "Медианный чек"),
    "win_rate": ("Win rate", "Доля выигранных"),
    "win_rate_shrunk": (
        "Win rate, evened out",
        "Доля выигранных, выровненная",
    ),
    "win_rate_amount": ("Win rate by amount", "Доля выигранных по сумме"),
    "lead_to_won": ("Lead → won", "Лид → выигрыш"),
    "median_won_cycle": ("Median won cycle, days", "Медианный цикл, дни"),
    "calls": ("Calls", "Звонки"),
    "emails": ("E-mails", "Письма"),
    "meetings": ("Meetings", "Встречи"),
    "calls_per_meeting": ("Calls per meeting", "Звонков на встречу"),
    "meetings_per_won": ("Meetings per won deal", "Встреч на выигрыш"),
    "won_per_100_calls": ("Won per 100 calls", "Выигрышей на 100 звонков"),
    "plan_revenue": ("Revenue plan", "План по выручке"),
    "plan_revenue_done": ("Revenue: done", "Выручка: выполнено"),
    "plan_revenue_pace": ("Revenue: pace", "Выручка: темп"),
    "plan_won_deals": ("Deals plan", "План по сделкам"),
    "plan_won_deals_done": ("Deals: done", "Сделки: выполнено"),
    "plan_won_deals_pace": ("Deals: pace", "Сделки: темп"),
    "finding_weak_conversion": (
        "{owner} converts «{stage}» at {rate:.0%} (95% CI {low:.0%}–{high:.0%}, n={n}) against the "
        "team's {team:.0%}: {lost:@deal} lost there.",
        "{owner}: конверсия этапа «{stage}» {rate:.0%} (95 % ДИ {low:.0%}–{high:.0%}, n={n}) против "
        "{team:.0%} у команды; проиграно там {lost:@deal}.",
    ),
    "finding_learn_conversion": (
        "To learn from: {owner} wins {rate:.0%} of closed deals (95% CI {low:.0%}–{high:.0%}, n={n}) "
        "against the team's {team:.0%}, a gap beyond chance. Act: have the team study how {owner} "
        "qualifies and closes deals.",
        "У кого учиться: {owner} выигрывает {rate:.0%} закрытых сделок (95\u00a0% ДИ {low:.0%}–{high:.0%}, "
        "n={n}) против {team:.0%} у команды, и это не случайность. Что делать: разобрать с командой, "
        "как {owner} квалифицирует и закрывает сделки.",
    ),
    "finding_no_leader_conversion": (
        "No clear leader in win rate: no manager's share of deals won differs from the team's "
        "{team:.0%} beyond chance.",
        "Явного лидера по доле выигранных сделок нет: ни у кого она не отличается от командной "
        "({team:.0%}) сильнее, чем бывает случайно.",
    ),
    "finding_learn_speed": (
        "To learn from: {owner} closes won deals in {median:.0f@day} (95% CI {low:.0f}–{high:.0f}, "
        "n={n}) against the team's {team:.0f}. Act: have the team study how {owner} moves deals "
        "forward.",
        "У кого учиться: {owner} закрывает выигранные сделки за {median:.0f@day} (95\u00a0% ДИ "
        "{low:.0f}–{high:.0f}, n={n}) против {team:.0f} у команды. Что делать: разобрать с командой, "
        "как {owner} ведёт сделки к закрытию.",
    ),
    "finding_no_leader_speed": (
        "No clear leader in speed: no manager closes won deals {by:.0%} or more faster than the "
        "team's {team:.0f@day} beyond chance.",
        "Явного лидера по скорости нет: никто не закрывает выигранные сделки на {by:.0%} и больше "
        "быстрее командных {team:.0f@day} сильнее, чем бывает случайно.",
    ),
    "finding_short_of_plan": (
        "Made less than 80% of the revenue plan: {names}; {gap} short in all.",
        "Выполнили меньше 80 % плана по выручке: {names}; всего не хватило {gap}.",
    ),
    "finding_behind_plan": (
        "On course for less than 80% of the revenue plan (pace): {names}; {gap} short in all.",
        "Идут ниже 80 % плана по выручке (темп): {names}; всего не хватает {gap}.",
    ),
    "report_02": ("Stage bottlenecks", "Узкие места воронки"),
    "intro_02": (
        "Where deals wait: time in each stage, deals still there included, work in progress, "
        "throughput, how each stage's stays end, which manager is slow where, and what shortening "
        "a stage would buy.",
        "Где сделки ждут: время на каждом этапе с учётом текущих пребываний, незавершённая работа, "
        "пропускная способность, чем заканчивается пребывание на этапе, кто из менеджеров где медлит и что "
        "даст ускорение этапа.",
    ),
    "section_stages": ("Time in each stage", "Время на этапах"),
    "section_stages_text": (
        "Stays that began in the window. Finished stays give the median, mean and p90; the median "
        "with open deals also counts the deals still in the stage, as staying at least this long; n "
        "is the stays that began in the window.",
        "Пребывания на этапе, начавшиеся в окне. Медиана, среднее и 90-й перцентиль — по завершённым; "
        "медиана с открытыми учитывает и сделки, ещё стоящие на этапе, — как пробывшие там не меньше; "
        "n — пребывания, начавшиеся в окне.",
    ),
    "section_identity": (
        "How stage stays end",
        "Чем заканчивается пребывание на этапе",
    ),
    "section_identity_text": (
        "Every stay that began in the window ends one way: entered = advanced + lost here + regressed "
        "+ moved pipeline + still here.",
        "Каждое пребывание на этапе, начавшееся в окне, заканчивается одним из способов: вошло = "
        "продвинулось + проиграно + откатилось + перенесено + ещё на этапе.",
    ),
    "section_flow": ("Work in progress by week", "Незавершённая работа по неделям"),
    "section_flow_text": (
        "Deals in each stage at the start of every week; a band that widens is a queue forming.",
        "Сделки на каждом этапе в начале каждой недели; расширяющаяся полоса — растущая очередь.",
    ),
    "section_heatmap": ("Managers × stages", "Менеджеры × этапы"),
    "section_heatmap_text": (
        "Median finished stay per manager and stage; red is slower than the team, blue faster; "
        "faded cells rest on fewer than 5 stays.",
        "Медиана завершённых пребываний по менеджерам и этапам; красный — медленнее команды, синий — "
        "быстрее; бледные клетки — меньше 5 пребываний.",
    ),
    "section_whatif": ("What if a stage were shorter", "Что если сократить этап"),
    "section_losses": ("Why deals are lost", "Почему сделки проигрываются"),
    "section_losses_text": (
        "Deals lost in the window by the reason the CRM records, with the money they were worth and "
        "the stage most of them were lost at; then by stage.",
        "Сделки, проигранные за период, по причине отказа, записанной в CRM: сколько их, на какую "
        "сумму и на каком этапе их теряют чаще всего; ниже — по этапам.",
    ),
    "section_loss_months": (
        "Share of closed deals lost, by month",
        "Доля проигранных среди закрытых, по месяцам",
    ),
    "section_loss_months_text": (
        "Of the deals closed each month, how many were lost, and the reason given most often.",
        "Из сделок, закрытых за месяц, — сколько проиграно и какая причина отказа встречалась чаще всего.",
    ),
    "section_loss_owners": (
        "Reasons that differ between managers",
        "Причины отказа, которые отличают менеджеров",
    ),
    "section_loss_owners_text": (
        "A manager's share of a reason against the rest of the team's, where the difference is beyond "
        "chance. No row: every manager loses for much the same reasons.",
        "Доля причины у менеджера против доли у остальных — там, где разница не случайна. Нет строк — "
        "менеджеры теряют сделки по одним и тем же причинам.",
    ),
    "losses_none": (
        "No lost deal in the window gives a reason: export the loss reason field (amoCRM loss_reason, "
        "HubSpot closed_lost_reason, Pipedrive lost_reason) to see why deals are lost.",
        "Ни у одной проигранной за период сделки нет причины отказа: выгрузите поле причины (amoCRM "
        "loss_reason, HubSpot closed_lost_reason, Pipedrive lost_reason), чтобы увидеть, почему "
        "сделки проигрывают.",
    ),
    "reason": ("Loss reason", "Причина отказа"),
    "no_reason_given": ("(no reason given)", "(причина не указана)"),
    "amount_lost": ("Money lost", "Потеряно, сумма"),
    "n_priced": ("With an amount", "С суммой"),
    "top_stage": ("Lost most at", "Чаще теряют на этапе"),
    "top_stage_n": ("Deals there", "Сделок там"),
    "top_reason_n": ("Deals with it", "Сделок с ней"),
    "n_lost": ("Lost", "Проиграно"),
    "loss_rate": ("Share lost", "Доля проигранных"),
    "team_share": ("Rest of the team", "У остальных"),
    "n_owner_lost": ("Manager's losses", "Проигрышей у менеджера"),
    "section_whatif_text": (
        "Shortening a stage by {reduction:.0%} of its time. Deals finished per week = deals in work / "
        "cycle time (Little's law), so with as many deals in work a shorter cycle finishes more of "
        "them each week. Assumes the other stages and the win rate stay as they are.",
        "Сокращение этапа на {reduction:.0%} его времени. Сделок, закрытых за неделю = сделок в "
        "работе / время цикла (закон Литтла), поэтому при том же числе сделок в работе короткий цикл "
        "закрывает больше сделок каждую неделю. Остальные этапы и доля выигранных считаются "
        "неизменными.",
    ),
    "section_stuck_stage": ("Stuck deals per stage", "Застрявшие сделки по этапам"),
    "section_stuck_stage_text": (
        "Open deals in a stage longer than 90% of its finished stays in the window.",
        "Открытые сделки, стоящие на этапе дольше 90 % завершённых пребываний в окне.",
    ),
    "n_finished": ("Finished", "Завершено"),
    "km_median_days": ("KM median, days", "Медиана КМ, дни"),
    "p90_days_stage": ("p90, days", "90-й перцентиль, дни"),
    "wip_now": ("In stage now", "Сейчас на этапе"),
    "wip_amount": ("Amount in stage", "Сумма на этапе"),
    "exits_per_week": ("Exits per week", "Выходов в неделю"),
    "share_of_cycle": ("Share of cycle time", "Доля времени цикла"),
    "advanced": ("Advanced", "Продвинулось"),
    "lost": ("Lost here", "Проиграно"),
    "regressed": ("Regressed", "Откатилось"),
    "moved": ("Moved pipeline", "Перенесено"),
    "still_here": ("Still here", "Ещё на этапе"),
    "n_stuck": ("Stuck deals", "Застрявшие сделки"),
    "stuck_amount": ("Amount stuck", "Сумма застрявших"),
    "reduction": ("Reduction", "Сокращение"),
    "cycle_days": ("Mean cycle, days", "Средний цикл, дни"),
    "stage_days": ("Of it in stage, days", "Из них на этапе, дни"),
    "new_cycle_days": ("New cycle, days", "Новый цикл, дни"),
    "throughput_change": ("Throughput change", "Рост пропускной способности"),
    "ratio_to_team": ("× team median", "× медиана команды"),
    "week": ("Week", "Неделя"),
    "wip": ("Deals in stage", "Сделок на этапе"),
    "stage_times_title": ("Days in each stage (finished stays)", "Дни на этапе (завершённые пребывания)"),
    "stage_times_subtitle": (
        "box: 25th–75th percentile; white tick: median; line: 10th–90th; label: share of cycle time",
        "прямоугольник — 25–75-й перцентили; белая черта — медиана; линия — 10–90-й; "
        "подпись — доля времени цикла",
    ),
    "flow_title": (
        "Cumulative flow: deals in each stage at the start of the week",
        "Накопительный поток: сделки на этапах в начале недели",
    ),
    "flow_subtitle": (
        "stacked; a widening band is a growing queue",
        "накопительно; расширение полосы — растущая очередь",
    ),
    "heatmap_title": ("Median days in stage per manager", "Медиана дней на этапе по менеджерам"),
    "heatmap_subtitle": (
        "colour: ratio to the team median; faded: n < 5",
        "цвет — отношение к медиане команды; бледные — n < 5",
    ),
    "finding_bottleneck": (
        "«{stage}» ({pipeline}) holds {share:.0%} of cycle time: median {median:.0f@day} (95% CI "
        "{low:.0f}–{high:.0f}, n={n}); {wip:@deal} ({amount}) wait there now, {trend}.",
        "«{stage}» ({pipeline}) занимает {share:.0%} времени цикла: медиана {median:.0f} дн. (95 % ДИ "
        "{low:.0f}–{high:.0f}, n={n}); сейчас там {wip:@deal} ({amount}), {trend}.",
    ),
    "wip_trend_up": ("up from {before} four weeks earlier", "четыре недели назад было {before}"),
    "wip_trend_flat": ("against {before} four weeks earlier", "четыре недели назад было {before}"),
    "finding_slow_stage_owner": (
        "{owner} is slow in {k} of {total:@stage}; in «{stage}» deals stay {ratio:.1f}× as long as the "
        "team's: median {median:.0f@day} (95% CI {low:.0f}–{high:.0f}, n={n}) against {team:.0f}.",
        "{owner} медлит на {k} этапах из {total}; на «{stage}» сделки стоят в {ratio:.1f@time} дольше, "
        "чем у команды: медиана {median:.0f} дн. (95 % ДИ {low:.0f}–{high:.0f}, n={n}) против {team:.0f}.",
    ),
    "finding_whatif": (
        "Shortening «{stage}» by {reduction:.0%} would cut the mean cycle from {cycle:.0f} to "
        "{new:.0f@day} and raise throughput by {gain:.0%} (95% CI {low:.0%}–{high:.0%}, n={n} won "
        "deals), with as many deals in work.",
        "Если этап «{stage}» станет короче на {reduction:.0%}, средний цикл уменьшится с {cycle:.0f} "
        "до {new:.0f} дн., а сделок будет закрываться больше на {gain:.0%} (95 % ДИ "
        "{low:.0%}–{high:.0%}, n={n} выигранных сделок) — при том же числе сделок в работе.",
    ),
    "no_findings": (
        "Nothing here stands out beyond chance: no finding to report.",
        "Ничего не выделяется сильнее, чем бывает случайно: выводов нет.",
    ),
    "glossary": ("How this was computed: terms and methods", "Как это посчитано: термины и методы"),
    "glossary_source": (
        "Every figure is computed as defined in crmkit's docs/METRICS.md, section {section} "
        "(crmkit {version}).",
        "Каждый показатель рассчитан по определениям показателей crmkit, раздел {section} "
        "(версия crmkit {version}).",
    ),
    "glossary_source_all": (
        "Every figure is computed as defined in crmkit's docs/METRICS.md (crmkit {version}).",
        "Каждый показатель рассчитан по определениям показателей crmkit (версия {version}).",
    ),
    "team": ("Team", "Команда"),
    "owner": ("Manager", "Менеджер"),
    "group": ("Sales team", "Отдел"),
    "pipeline": ("Pipeline", "Воронка"),
    "stage": ("Stage", "Этап"),
    "level": ("Level", "Уровень"),
    "name": ("Name", "Имя"),
    "n": ("n", "n"),
    "n_excluded": ("Excluded", "Исключено"),
    "mean_days": ("Mean, days", "Среднее, дни"),
    "median_days": ("Median, days", "Медиана, дни"),
    "median_ci": ("95% CI of median", "95 % ДИ медианы"),
    "p25_days": ("25th pct, days", "25-й перцентиль, дни"),
    "p75_days": ("75th pct, days", "75-й перцентиль, дни"),
    "won_amount": ("Won amount", "Сумма выигранных"),
    "n_closed": ("Closed", "Закрыто"),
    "n_open": ("Still open", "Ещё открыто"),
    "won_by_30": ("Won by day 30", "Выиграно к 30-му дню"),
    "won_by_60": ("Won by day 60", "Выиграно к 60-му дню"),
    "won_by_90": ("Won by day 90", "Выиграно к 90-му дню"),
    "deal_id": ("Deal", "Сделка"),
    "title": ("Title", "Название"),
    "age_days": ("Age, days", "Возраст, дни"),
    "days_in_stage": ("Days in stage", "Дней на этапе"),
    "p90_days": ("Stage p90, days", "90-й перцентиль этапа, дни"),
    "n_stays": ("Stays behind p90", "Пребываний в основе перцентиля"),
    "amount": ("Amount", "Сумма"),
    "currency": ("Currency", "Валюта"),
    "n_stale": ("Stale deals", "Зависшие сделки"),
    "stale_amount": ("Amount at stake", "Сумма под риском"),
    "stale_share": ("Share of open deals", "Доля открытых"),
    "share_ci": ("95% CI", "95 % ДИ"),
    "days": ("days", "дни"),
    "share_open": ("Share of deals still open", "Доля ещё открытых сделок"),
    "days_since_creation": ("Days since creation", "Дней с создания"),
    "sheet_loads": ("Loads", "Загрузки"),
    "sheet_stale": ("Stale deals", "Зависшие сделки"),
    "sheet_stuck": ("Stuck deals", "Застрявшие сделки"),
    "sheet_forecast_deals": ("Forecast deals", "Сделки прогноза"),
    "more_rows": ("First {shown} of {total:,@row}.", "Первые {shown} из {total:,}."),
    "more_rows_sheet": (
        "First {shown} of {total:,@row}; the full list: the workbook, sheet {number} ({name}).",
        "Первые {shown} из {total:,}; полный список — в книге Excel, лист {number} («{name}»).",
    ),
    "table_note_ci": (
        "Small grey figures under a value: its 95% interval.",
        "Мелкие серые числа под значением — его 95 % интервал.",
    ),
    "table_note_n": ("Greyed rows: n < 5.", "Серые строки: n < 5."),
    "small_n": ("greyed: n < 5, too few to rely on", "серым: n < 5, слишком мало для выводов"),
    "won_cycle_subtitle": (
        "number = won deals per manager; dashed line: team median {team:.0f@day}; {small}",
        "число — выигранные сделки менеджера; пунктир — медиана команды {team:.0f} дн.; {small}",
    ),
    "km_subtitle": (
        "n = {n:@deal} created in the window; shaded: 95% band; dashed: half closed",
        "n = {n:,} — сделки, созданные в окне; заливка — 95 % интервал; пунктир — половина закрыта",
    ),
    "stale_subtitle": (
        "{currency}; hover for counts",
        "{currency}; наведите курсор, чтобы увидеть количество",
    ),
    "ci_low": ("CI low", "ДИ, нижняя"),
    "ci_high": ("CI high", "ДИ, верхняя"),
    "won_cycle_title": (
        "Won cycle per manager: median days, 95% CI",
        "Цикл выигранной сделки по менеджерам: медиана, дни, 95 % ДИ",
    ),
    "km_title": (
        "Time to close: share of the deals still open, by day since creation",
        "Время до закрытия: доля сделок, ещё открытых, по дням с создания",
    ),
    "stale_title": (
        "Stale deals per manager: amount at stake",
        "Зависшие сделки по менеджерам: сумма под риском",
    ),
    "intro_01": (
        "How long deals take: the won cycle CRMs show, the honest time to close with open deals "
        "counted as still open, and the open deals that have waited too long.",
        "Сколько длятся сделки: цикл выигранной сделки, который показывают CRM, честное время до "
        "закрытия с учётом открытых сделок и открытые сделки, которые ждут слишком долго.",
    ),
    "section_won_cycle": (
        "Won cycle, as CRMs show it",
        "Цикл выигранной сделки (как в CRM)",
    ),
    "section_won_cycle_text": (
        "Days from creation to winning, over the deals won in the window. Lost and open deals are "
        "not in this number; the next section puts them back.",
        "Дни от создания до выигрыша по сделкам, выигранным в окне. Проигранные и открытые сделки "
        "в это число не входят; следующий раздел их возвращает.",
    ),
    "section_ttc": ("Time to close, open deals included", "Время до закрытия с учётом открытых сделок"),
    "section_ttc_text": (
        "Every deal created in the window: closed deals count with their time to close, open deals as "
        "still open at the report's moment. “Won by day N”: the share won within N days; a deal lost "
        "first is not won later.",
        "Все сделки, созданные в окне: закрытые — со временем до закрытия, открытые — как ещё "
        "открытые на момент отчёта. «Выиграно к 30/60/90-му дню» — доля выигранных за столько дней; "
        "сделка, проигранная раньше, потом уже не выигрывается.",
    ),
    "section_stale": ("Stale deals", "Зависшие сделки"),
    "section_stale_text": (
        "Open deals older than the threshold ({days:.0f@day}): who holds them and how much is at stake.",
        "Открытые сделки старше порога ({days:.0f} дн.): у кого они и какая сумма под риском.",
    ),
    "section_stuck": ("Stuck deals", "Застрявшие сделки"),
    "section_stuck_text": (
        "Open deals that have sat in their current stage longer than 90% of the finished stays in that "
        "stage during the window.",
        "Открытые сделки, которые стоят на текущем этапе дольше, чем 90 % завершённых пребываний на "
        "этом этапе в окне.",
    ),
    "finding_slow_owner": (
        "{owner} closes won deals slowly: median {median:.0f@day} (95% CI {low:.0f}–{high:.0f}, "
        "n={n}) against the team's {team:.0f@day}, {excess:.0%} longer. Review this manager's "
        "deals stage by stage.",
        "{owner} закрывает выигранные сделки медленно: медиана {median:.0f} дн. (95 % ДИ "
        "{low:.0f}–{high:.0f}, n={n}) против {team:.0f} дн. у команды, на {excess:.0%} дольше. "
        "Разберите сделки менеджера по этапам.",
    ),
    "amount_unknown": ("amount unknown", "сумма неизвестна"),
    "needs_adoption": (
        "This report compares the months before and after the CRM came in, and weighs the gain "
        "against what the CRM cost. No CRM export holds those facts: write them in adoption.yml "
        "beside the database ({db}, in {folder}), or pass --param adoption_path=FILE. Its fields:",
        "Этот отчёт сравнивает месяцы до и после внедрения CRM и соотносит прирост с затратами на "
        "неё. Этих сведений нет ни в одной выгрузке CRM: запишите их в adoption.yml рядом с базой "
        "({db}, в папке {folder}) или укажите --param adoption_path=ФАЙЛ. Поля файла:",
    ),
    "finding_stale": (
        "{n} open deals ({amount}) are older than the median won cycle ({threshold:.0f@day}); "
        "{top_owner} holds the most: {top_n:@deal} ({top_amount}).",
        "{n} открытых сделок ({amount}) старше медианного цикла выигранной сделки ({threshold:.0f} "
        "дн.); больше всего их у одного менеджера — {top_owner}: {top_n:@deal} ({top_amount}).",
    ),
    "finding_losses": (
        "Most lost deals were lost for «{reason}»: {n} of {total} ({share:.0%}), {amount} in all; more "
        "deals are lost at the stage «{stage}» ({stage_n}) than at any other.",
        "Чаще всего сделки проиграны по причине «{reason}»: {n} из {total} ({share:.0%}), всего "
        "{amount}; больше всего сделок теряется на этапе «{stage}» ({stage_n}).",
    ),
    "finding_loss_owner_more": (
        "{owner} loses for «{reason}» far more often than the rest of the team: {share:.0%} of their "
        "losses ({n} of {of}) against {team:.0%}. Worth a look at how they handle it.",
        "{owner} теряет сделки по причине «{reason}» намного чаще остальных: {share:.0%} своих "
        "проигрышей ({n} из {of}) против {team:.0%} у команды. Стоит разобрать, как менеджер с этим "
        "работает.",
    ),
    "finding_loss_owner_less": (
        "{owner} rarely loses for «{reason}»: {share:.0%} of their losses ({n} of {of}) against {team:.0%} "
        "for the rest of the team — a practice to learn from.",
        "{owner} редко теряет сделки по причине «{reason}»: {share:.0%} своих проигрышей ({n} из {of}) "
        "против {team:.0%} у остальных — опыт, которому стоит поучиться.",
    ),
    "finding_stuck": (
        "{n} open deals sit in their stage longer than 90% of past stays; most of them at the stage "
        "«{stage}» ({stage_n}).",
        "{n} открытых сделок стоят на этапе дольше, чем 90 % прошлых пребываний; больше всего — на "
        "этапе «{stage}» ({stage_n}).",
    ),
    "finding_censoring": (
        "Counting only won deals, the cycle looks like {won:.0f@day}; with lost and open deals, half "
        "of the cohort closes within {km:.0f@day}, and only {won90:.0%} is won by day 90.",
        "Если считать только выигранные, цикл — {won:.0f} дн.; с проигранными и открытыми половина "
        "когорты закрывается за {km:.0f} дн., а к 90-му дню выиграно лишь {won90:.0%}.",
    ),
}

GLOSSARY: dict[str, dict[str, tuple[str, str]]] = {
    "00": {
        "Stage history": (
            "The dated list of stages a deal went through. A deal without it gets one "
            "flagged row (its current stage) and is left out of stage metrics.",
            "Датированный список этапов сделки. Сделка без неё получает одну отмеченную "
            "строку (текущий этап) и не входит в показатели этапов.",
        ),
        "Rejected row": (
            "An input row not loaded, kept in the rejects table with its reason: rows read = loaded + "
            "rejected.",
            "Входная строка, которая не загружена и сохранена в таблице отклонённых строк с "
            "причиной: прочитано = загружено + отклонено.",
        ),
        "Bulk edit": (
            "Many deals moved by one user within a minute: a clean-up, not sales events.",
            "Много сделок, перемещённых одним пользователем за минуту: уборка, а не продажи.",
        ),
        "Verdict": (
            "Good: 90% or more of the basis supports the metric family; usable: 60% or more.",
            "Хорошо: 90 % и больше данных поддерживают семейство показателей; годится: 60 % и больше.",
        ),
    },
    "05": {
        "Week": (
            "Monday 00:00 to Sunday 23:59 in the account's time zone.",
            "С понедельника 00:00 до воскресенья 23:59 в часовом поясе аккаунта.",
        ),
        "Leads, refusals, sales": (
            "Deals created, lost and won in the week (period view).",
            "Сделки, созданные, проигранные и выигранные за неделю (взгляд за период).",
        ),
        "Client base": (
            "Distinct clients with a deal created up to the week's end; new clients: their "
            "first deal that week.",
            "Разные клиенты со сделкой, созданной до конца недели; новые — первая сделка на этой неделе.",
        ),
        "CRM events": (
            "Activities (calls, e-mails, meetings, tasks, proposals, payments) and stage moves "
            "made by the manager.",
            "Активности (звонки, письма, встречи, задачи, КП, оплаты) и смены этапов, сделанные менеджером.",
        ),
        "Beyond noise": (
            "Counts swing from week to week even when nothing changes. A count is compared with what "
            "was expected (the team: its mean over the 8 weeks before; a manager: their share of "
            "those weeks' team counts times this week's), with the swings those weeks showed "
            "(negative binomial noise). Every manager, block and week of a table is tested together, "
            "and a change is marked when it is a discovery at a 5% false discovery rate "
            "(Benjamini–Hochberg): at most 1 in 20 marked changes is expected to be chance.",
            "Количества колеблются от недели к неделе, даже когда ничего не меняется. Количество "
            "сравнивается с ожидаемым (для команды — среднее за 8 предыдущих недель, для менеджера — "
            "его доля в количествах команды за те недели, умноженная на неделю команды) с учётом "
            "колебаний тех недель. Все менеджеры, показатели и недели таблицы проверяются вместе; "
            "изменение отмечается, если из всех отмеченных случайными ожидается не больше 1 из 20.",
        ),
        "Lead response time": (
            "From creation to the first outbound call, e-mail or meeting; unanswered "
            "leads are censored (Kaplan–Meier).",
            "От создания до первого исходящего звонка, письма или встречи; лиды без "
            "ответа цензурируются (Каплан–Майер).",
        ),
        "Lead balance": ("Leads / (refusals + sales) of the week.", "Лиды / (отказы + продажи) за неделю."),
    },
    "04": {
        "Active manager": (
            "A manager who worked in the month: created, moved or closed a deal, or logged an "
            "activity — not only one who won.",
            "Менеджер, который работал в этом месяце: создал, передвинул или закрыл сделку либо "
            "записал активность, — не только тот, кто выиграл.",
        ),
        "Naive before/after": (
            "Mean of the months after over the months before, minus one: what is "
            "usually quoted, blind to seasons and growth.",
            "Среднее после к среднему до минус один: то, что обычно называют; не видит сезонов и роста.",
        ),
        "Same months a year earlier": (
            "Each month after adoption against the same calendar month a year "
            "before: Σ after / Σ before − 1, interval by bootstrap over the pairs.",
            "Каждый месяц после внедрения против того же месяца годом ранее: "
            "Σ после / Σ до − 1, интервал — бутстреп по парам.",
        ),
        "Segmented regression": (
            "log(monthly value) = month of year + trend (with two years before "
            "adoption) + a level shift and a slope change at adoption; the effect is "
            "their average over the months after.",
            "логарифм значения за месяц = месяц года + тренд (при двух годах истории) + "
            "сдвиг уровня и изменение наклона при внедрении; эффект — их среднее за "
            "месяцы после.",
        ),
        "Ramp months": (
            "Months right after adoption when the CRM holds only part of the work; left out.",
            "Месяцы сразу после внедрения, когда в CRM лишь часть работы; исключены.",
        ),
        "ROI": (
            "(Incremental gross profit − costs) / costs, to the as-of date.",
            "(Доп. валовая прибыль − затраты) / затраты на дату отчёта.",
        ),
        "Payback month": (
            "The first month after adoption when cumulative incremental gross profit "
            "reaches cumulative cost.",
            "Первый месяц после внедрения, когда накопленная доп. валовая прибыль догоняет "
            "накопленные затраты.",
        ),
    },
    "06": {
        "Mature lead": (
            "A lead older than the 75th percentile of the won cycle: most leads that will "
            "be won have been by then, so its outcome is nearly known.",
            "Лид старше 75-го перцентиля цикла выигранной сделки: к этому времени большинство "
            "будущих выигрышей уже случилось.",
        ),
        "Censoring": (
            "A lead still open has not failed: it is counted up to the as-of date only. Raw "
            "“won so far” rates understate young sources.",
            "Открытый лид ещё не проигран: он учитывается лишь до даты отчёта. Сырая доля "
            "«выиграно на сейчас» занижает молодые источники.",
        ),
        "Pre-sale stages": (
            "The late open stages the forecast reads (default: the last two of every pipeline).",
            "Поздние открытые этапы, из которых строится прогноз (по "
            "умолчанию — два последних в каждой воронке).",
        ),
        "P10 / P50 / P90": (
            "Of all simulated outcomes, 10% fall below P10, half below P50, 90% below "
            "P90: P10–P90 is an 80% range. Each simulation draws the stage's win chances from "
            "their own uncertainty, then each deal; the range is then widened by the past months' "
            "misses (split conformal over the forecasts made at past month starts), so that it "
            "would have held 8 in 10 of them.",
            "Из всех смоделированных исходов 10 % ниже P10, половина ниже P50, 90 % ниже P90: "
            "P10–P90 — 80 % диапазон. Каждая симуляция берёт шансы этапа с их собственной "
            "неопределённостью, затем исход каждой сделки; затем диапазон расширяется по промахам "
            "прогнозов на начало прошлых месяцев, чтобы он накрыл 8 из 10 из них.",
        ),
        "Weighted pipeline": (
            "Σ amount × the stage's historical win rate: what CRMs show, without timing "
            "or how long a deal has waited.",
            "Σ сумма × историческая доля выигрышей этапа — как в CRM, без сроков и без "
            "учёта того, сколько сделка уже ждёт.",
        ),
        "95% CI": (
            "Wilson score interval for rates; a share won by a day with open deals on the "
            "log(−log) scale (Aalen's variance).",
            "Интервал Уилсона для долей; доля, выигранная к сроку при открытых сделках, — на "
            "шкале двойного логарифма (дисперсия Аалена).",
        ),
    },
    "03": {
        "Conversion": (
            "Advanced / (advanced + lost at the stage). Deals still at the stage are neither: "
            "they are shown apart, not counted as failures.",
            "Продвинулось / (продвинулось + проиграно на этапе). Сделки, ещё стоящие на этапе, "
            "показаны отдельно и не считаются неудачей.",
        ),
        "Cohort / period view": (
            "Cohort: deals created in the window, followed to the as-of date. Period: "
            "events (stage exits, wins, losses, activities) that happened in the window.",
            "Когорта: сделки, созданные в окне, до даты отчёта. Период: события (выходы "
            "с этапов, выигрыши, проигрыши, активности), случившиеся в окне.",
        ),
        "Win rate": (
            "Won / (won + lost) over deals closed in the period, by count and by amount.",
            "Выиграно / (выиграно + проиграно) по сделкам, закрытым в периоде, по числу и по сумме.",
        ),
        "Lead → won": (
            "Share of the deals created in the period that are won by the as-of date; young "
            "deals have had little time, so it understates recent cohorts.",
            "Доля сделок, созданных в периоде и выигранных к дате отчёта; у молодых сделок было "
            "мало времени, поэтому для свежих когорт показатель занижен.",
        ),
        "Evened-out rate (shrinkage)": (
            "Empirical Bayes: each manager's rate is pulled toward the team's by a prior whose "
            "strength is estimated from how much managers differ beyond chance (capped at the "
            "median manager's n), so one lucky deal does not top a ranking.",
            "Эмпирический Байес: доля каждого менеджера подтягивается к командной с силой, "
            "оценённой по тому, насколько менеджеры различаются сверх случайности (не больше "
            "n типичного менеджера), чтобы одна удачная сделка не выводила в лидеры.",
        ),
        "Plan pace": (
            "Actual ÷ working days elapsed × working days in the plan period, ÷ target.",
            "Факт ÷ прошедшие рабочие дни × рабочие дни планового периода, ÷ план.",
        ),
        "95% CI": ("Wilson score interval for every share.", "Интервал Уилсона для каждой доли."),
    },
    "02": {
        "Stage visit": (
            "A stay in one stage, from entering it to entering the next. A deal that comes "
            "back to a stage makes a second visit.",
            "Пребывание на этапе от входа до перехода на следующий. Вернувшаяся сделка пребывает "
            "на этапе второй раз.",
        ),
        "Censored stay": (
            "The current stay of a deal still in the stage: only its lower bound is known. "
            "Kaplan–Meier uses it; the finished-stay median does not.",
            "Текущее пребывание сделки, ещё стоящей на этапе: известна лишь нижняя граница. "
            "Каплан–Майер её учитывает, медиана завершённых — нет.",
        ),
        "Skip / regression": (
            "Moving forward past a stage counts as passing it (advanced). Moving back "
            "is a regression, counted apart.",
            "Переход вперёд через этап считается его прохождением. Возврат назад — "
            "откат, считается отдельно.",
        ),
        "Share of cycle time": (
            "Days spent in the stage by the window's visits (finished and current), "
            "over the days spent in all open stages of the pipeline.",
            "Дни на этапе по пребываниям окна (завершённым и текущим) к дням на всех открытых "
            "этапах воронки.",
        ),
        "Bottleneck": (
            "The stage holding the largest share of cycle time; worse when the deals in it grow.",
            "Этап с наибольшей долей времени цикла; хуже, если незавершённая работа растёт.",
        ),
        "Deals in work, throughput": (
            "Deals in work: deals in the stage now. Throughput: stays finished per week.",
            "Незавершённая работа — сделки на этапе сейчас. Пропускная способность — "
            "завершённые пребывания в неделю.",
        ),
        "Little's law": (
            "Deals finished per week = deals in work / cycle time, for a process in a steady state.",
            "Пропускная способность = незавершённая работа / время цикла (для устойчивого процесса).",
        ),
        "95% CI": (
            "Order statistics for medians of finished stays, Brookmeyer–Crowley for Kaplan–Meier "
            "medians, bootstrap for the what-if.",
            "Порядковые статистики для медиан завершённых пребываний, Брукмейер–Кроули для медиан "
            "Каплана–Майера, бутстреп для сценария «что если».",
        ),
    },
    "01": {
        "Won cycle": (
            "Days from creation to winning, over deals won in the window: the number CRMs show. "
            "It ignores lost and open deals.",
            "Дни от создания до выигрыша по сделкам, выигранным в окне: число, которое показывают CRM. "
            "Не учитывает проигранные и открытые сделки.",
        ),
        "Kaplan–Meier time to close": (
            "Over every deal created in the window: closed deals give their time to "
            "close, open ones are censored at the as-of date (only a lower bound is known).",
            "По всем сделкам, созданным в окне: закрытые дают время до закрытия, открытые "
            "цензурируются датой отчёта (известна лишь нижняя граница).",
        ),
        "Won by day N": (
            "Cumulative incidence of winning by day N, with losing as a competing outcome.",
            "Накопленная доля выигранных к 30-му, 60-му или 90-му дню; проигрыш — конкурирующий исход.",
        ),
        "Stale deal": (
            "An open deal older than the threshold (default: the team's median won cycle).",
            "Открытая сделка старше порога (по умолчанию — медианный цикл выигранной сделки).",
        ),
        "Stuck deal": (
            "An open deal whose days in its current stage exceed that stage's 90th percentile of "
            "finished stays in the window.",
            "Открытая сделка, которая стоит на этапе дольше 90-го перцентиля завершённых пребываний.",
        ),
        "95% CI": (
            "The range that covers the true value in 95% of samples; Wilson for shares, "
            "Brookmeyer–Crowley for medians.",
            "Интервал, накрывающий истинное значение в 95 % выборок; Уилсон для долей, "
            "Брукмейер–Кроули для медиан.",
        ),
        "n": (
            "How many deals a figure rests on; figures with n < 5 are greyed.",
            "Сколько сделок стоит за числом; при n < 5 число показано серым.",
        ),
    },
}


# The glossary's terms in Russian (the definitions are in GLOSSARY, in both languages).
TERMS: dict[str, str] = {
    "95% CI": "95 % ДИ",
    "Beyond noise": "Вне шума",
    "Bottleneck": "Узкое место",
    "Bulk edit": "Массовая правка",
    "CRM events": "События в CRM",
    "Censored stay": "Цензурированное пребывание",
    "Censoring": "Цензурирование",
    "Client base": "Клиентская база",
    "Cohort / period view": "Когорта / период",
    "Conversion": "Конверсия",
    "Kaplan–Meier time to close": "Время до закрытия по Каплану–Майеру",
    "Lead balance": "Баланс лидов",
    "Lead response time": "Время реакции на лид",
    "Lead → won": "Лид → выигрыш",
    "Leads, refusals, sales": "Лиды, отказы, продажи",
    "Little's law": "Закон Литтла",
    "Mature lead": "Зрелый лид",
    "Active manager": "Активный менеджер",
    "Naive before/after": "Наивное «до/после»",
    "P10 / P50 / P90": "P10 / P50 / P90",
    "Payback month": "Месяц окупаемости",
    "Plan pace": "Темп плана",
    "Pre-sale stages": "Предпродажные этапы",
    "ROI": "ROI",
    "Ramp months": "Месяцы разгона",
    "Rejected row": "Отклонённая строка",
    "Same months a year earlier": "Те же месяцы годом раньше",
    "Segmented regression": "Сегментированная регрессия",
    "Share of cycle time": "Доля времени цикла",
    "Evened-out rate (shrinkage)": "Выровненная доля (сжатие к среднему)",
    "Skip / regression": "Пропуск / возврат",
    "Stage history": "История этапов",
    "Stage visit": "Пребывание на этапе",
    "Stale deal": "Зависшая сделка",
    "Stuck deal": "Застрявшая сделка",
    "Verdict": "Вердикт",
    "Deals in work, throughput": "Сделки в работе, пропускная способность",
    "Week": "Неделя",
    "Weighted pipeline": "Взвешенная воронка",
    "Win rate": "Доля выигранных",
    "Won by day N": "Выиграно к 30/60/90-му дню",
    "Won cycle": "Цикл выигранной сделки",
    "n": "n",
}


class _Formatter(string.Formatter):
    """Formats numbers as the language writes them (`localize.number`: «3 002», «15,1 %», a
    count with its noun by `{n:,@deal}`), and a number that is not known (an interval too small a
    sample cannot give) as a dash, never as "nan". A whole number given bare (`n={n}`) is a count
    and is grouped as the language groups one (9,275 and 578,386; «9 275», «578 386»): no label
    takes a year or an id as a number."""

    def __init__(self, lang: str):
        self.lang = lang

    def format_field(self, value, format_spec):
        if isinstance(value, bool) or not isinstance(value, numbers.Number):
            return super().format_field(value, format_spec)
        bare = format_spec.partition("@")[0] == ""
        if bare and isinstance(value, numbers.Integral):
            format_spec = "," + format_spec  # "@lead" -> ",@lead": "681,795 leads"
        return localize.number(value, format_spec, self.lang)


_formatters = {lang: _Formatter(lang) for lang in localize.LANGS}


def _sharpened(text: str, values: dict) -> str:
    """A sentence whose 95% interval `{low:.0%}–{high:.0%}` would read as one figure ("12%–12%",
    from hundreds of thousands of leads) gives the interval and its estimate (the percentage just
    before it: the raw rate, the throughput gain) one decimal: 12.0% (11.9%–12.1%); other figures,
    such as the overall rate it is compared with, stay as every other sentence gives them."""
    low, high = values.get("low"), values.get("high")
    if "{low:.0%}" not in text or not all(isinstance(v, numbers.Real) for v in (low, high)):
        return text
    finite = math.isfinite(low) and math.isfinite(high)
    if not finite or low == high or round(low * 100) != round(high * 100):
        return text
    before, _, after = text.partition("{low:.0%}")
    before = re.sub(r"\{(\w+):\.0%\}(?!.*\{\w+:\.0%\})", r"{\1:.1%}", before, flags=re.S)  # the last one
    return before + "{low:.1%}" + after.replace("{high:.0%}", "{high:.1%}", 1)


def t(key: str, lang: str = "en", **values) -> str:
    """The label `key` in `lang` ("en" or "ru"), formatted with `values`."""
    en, ru = LABELS[key]
    text = ru if lang == "ru" else en
    if not values:
        return text
    return _formatters["ru" if lang == "ru" else "en"].format(_sharpened(text, values), **values)


def scoped_title(title: str, owner: str | None = None, pipeline: str | None = None) -> str:
    """A report's title with the manager and pipeline it is narrowed to: a manager's page says
    whose it is in its heading and its browser title, not only in the parameters at its end."""
    return " — ".join([title, *(part for part in (owner, pipeline) if part)])
