"""Report labels in English and Russian: one table, `t(key, lang)`. Stage and manager names
come from the data as they are and are never translated."""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {  # key: (en, ru)
    "report_01": ("Pipeline duration", "Длительность сделок"),
    "parameters": ("Parameters", "Параметры"),
    "data": ("Data", "Данные"),
    "as_of": ("As of", "На момент"),
    "window": ("Window", "Окно"),
    "loaded_at": ("Loaded", "Загружено"),
    "latest_event": ("Latest event", "Последнее событие"),
    "rows": ("rows", "строк"),
    "rejects": ("Rejected rows in loads", "Отклонено строк при загрузке"),
    "quality_note": (
        "{n:,} deals: {history:,} with stage history ({share:.0%}), {no_created:,} without a creation "
        "date (sales recorded outside the CRM), {before:,} closed before created (left out of "
        "durations), {rejects:,} rejected rows in loads.",
        "Сделок: {n:,}; с историей этапов: {history:,} ({share:.0%}); без даты создания: "
        "{no_created:,} (продажи вне CRM); закрыты раньше создания: {before:,} (исключены из "
        "длительностей); отклонено строк при загрузке: {rejects:,}.",
    ),
    "findings": ("Findings", "Выводы"),
    "no_findings": (
        "No finding passes the evidence rules.",
        "Ни один вывод не прошёл правила доказательности.",
    ),
    "glossary": ("Glossary", "Глоссарий"),
    "team": ("Team", "Команда"),
    "owner": ("Manager", "Менеджер"),
    "pipeline": ("Pipeline", "Воронка"),
    "stage": ("Stage", "Этап"),
    "level": ("Level", "Уровень"),
    "name": ("Name", "Имя"),
    "n": ("n", "n"),
    "n_excluded": ("Excluded", "Исключено"),
    "mean_days": ("Mean, days", "Среднее, дни"),
    "median_days": ("Median, days", "Медиана, дни"),
    "median_ci": ("95% CI of median", "95% ДИ медианы"),
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
    "p90_days": ("Stage p90, days", "p90 этапа, дни"),
    "n_stays": ("Stays behind p90", "Пребываний в основе p90"),
    "amount": ("Amount", "Сумма"),
    "currency": ("Currency", "Валюта"),
    "n_stale": ("Stale deals", "Зависшие сделки"),
    "stale_amount": ("Amount at stake", "Сумма под риском"),
    "stale_share": ("Share of open deals", "Доля открытых"),
    "share_ci": ("95% CI", "95% ДИ"),
    "days": ("days", "дни"),
    "share_open": ("Share of deals still open", "Доля ещё открытых сделок"),
    "day": ("Days since creation", "Дней с создания"),
    "more_rows": (
        "First {shown} of {total} rows; `crmkit metrics` gives them all.",
        "Первые {shown} из {total} строк; все строки — в `crmkit metrics`.",
    ),
    "table_note": (
        "Small grey figures under a value: its 95% interval. Greyed rows: n < 5.",
        "Мелкие серые числа под значением — его 95% интервал. Серые строки: n < 5.",
    ),
    "small_n": ("greyed: n < 5, too few to rely on", "серым: n < 5, слишком мало для выводов"),
    "won_cycle_subtitle": (
        "number = won deals per manager; dashed line: team median {team:.0f} days; {small}",
        "число — выигранные сделки менеджера; пунктир — медиана команды {team:.0f} дн.; {small}",
    ),
    "km_subtitle": (
        "n = {n} deals created in the window; shaded: 95% band; dashed: half closed",
        "n = {n} сделок, созданных в окне; заливка — 95% интервал; пунктир — половина закрыта",
    ),
    "stale_subtitle": (
        "{currency}; hover for counts",
        "{currency}; наведите курсор, чтобы увидеть количество",
    ),
    "ci_low": ("CI low", "ДИ, нижняя"),
    "ci_high": ("CI high", "ДИ, верхняя"),
    "won_cycle_title": (
        "Won cycle per manager: median days, 95% CI",
        "Цикл выигранной сделки по менеджерам: медиана, дни, 95% ДИ",
    ),
    "km_title": (
        "Time to close (Kaplan–Meier): share of the cohort still open",
        "Время до закрытия (Каплан–Майер): доля когорты ещё открыта",
    ),
    "stale_title": (
        "Stale deals per manager: amount at stake",
        "Зависшие сделки по менеджерам: сумма под риском",
    ),
    "intro_01": (
        "How long deals take: the won cycle CRMs show, the honest time to close with open deals "
        "censored, and the open deals that have waited too long.",
        "Сколько длятся сделки: цикл выигранной сделки, который показывают CRM, честное время до "
        "закрытия с учётом открытых сделок и открытые сделки, которые ждут слишком долго.",
    ),
    "section_won_cycle": ("Won cycle (vendor-style)", "Цикл выигранной сделки (как в CRM)"),
    "section_won_cycle_text": (
        "Days from creation to winning, over the deals won in the window. Lost and open deals are "
        "not in this number; the next section puts them back.",
        "Дни от создания до выигрыша по сделкам, выигранным в окне. Проигранные и открытые сделки "
        "в это число не входят; следующий раздел их возвращает.",
    ),
    "section_ttc": ("Time to close, open deals included", "Время до закрытия с учётом открытых сделок"),
    "section_ttc_text": (
        "Every deal created in the window: closed deals count with their time to close, open deals "
        "are censored at the as-of date (Kaplan–Meier). “Won by day N” treats losing as a "
        "competing outcome.",
        "Все сделки, созданные в окне: закрытые учитываются со временем до закрытия, открытые "
        "цензурируются датой отчёта (Каплан–Майер). «Выиграно к N-му дню» считает проигрыш "
        "конкурирующим исходом.",
    ),
    "section_stale": ("Stale deals", "Зависшие сделки"),
    "section_stale_text": (
        "Open deals older than the threshold ({days:.0f} days): who holds them and how much is at stake.",
        "Открытые сделки старше порога ({days:.0f} дн.): у кого они и какая сумма под риском.",
    ),
    "section_stuck": ("Stuck deals", "Застрявшие сделки"),
    "section_stuck_text": (
        "Open deals that have sat in their current stage longer than 90% of the finished stays in that "
        "stage during the window.",
        "Открытые сделки, которые стоят на текущем этапе дольше, чем 90% завершённых пребываний на "
        "этом этапе в окне.",
    ),
    "finding_slow_owner": (
        "{owner} closes won deals slowly: median {median:.0f} days (95% CI {low:.0f}–{high:.0f}, "
        "n={n}) against the team's {team:.0f} days, {excess:.0%} longer. Review this manager's "
        "deals stage by stage.",
        "{owner} закрывает выигранные сделки медленно: медиана {median:.0f} дн. (95% ДИ "
        "{low:.0f}–{high:.0f}, n={n}) против {team:.0f} дн. у команды, на {excess:.0%} дольше. "
        "Разберите сделки менеджера по этапам.",
    ),
    "finding_stale": (
        "{n} open deals ({amount}) are older than the median won cycle ({threshold:.0f} days); "
        "{top_owner} holds the most: {top_n} deals ({top_amount}).",
        "{n} открытых сделок ({amount}) старше медианного цикла выигранной сделки ({threshold:.0f} дн.); "
        "больше всего у: {top_owner} — {top_n} сделок ({top_amount}).",
    ),
    "finding_stuck": (
        "{n} open deals sit in their stage longer than 90% of past stays; most in «{stage}» ({stage_n}).",
        "{n} открытых сделок стоят на этапе дольше, чем 90% прошлых пребываний; больше всего "
        "на «{stage}» ({stage_n}).",
    ),
    "finding_censoring": (
        "Counting only won deals, the cycle looks like {won:.0f} days; with lost and open deals, half "
        "of the cohort closes within {km:.0f} days, and only {won90:.0%} is won by day 90.",
        "Если считать только выигранные, цикл — {won:.0f} дн.; с проигранными и открытыми половина "
        "когорты закрывается за {km:.0f} дн., а к 90-му дню выиграно лишь {won90:.0%}.",
    ),
}

GLOSSARY: dict[str, dict[str, tuple[str, str]]] = {
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
            "Накопленная доля выигранных к N-му дню; проигрыш — конкурирующий исход.",
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
            "Интервал, накрывающий истинное значение в 95% выборок; Уилсон для долей, "
            "Брукмейер–Кроули для медиан.",
        ),
        "n": (
            "How many deals a figure rests on; figures with n < 5 are greyed.",
            "Сколько сделок стоит за числом; при n < 5 число показано серым.",
        ),
    }
}


def t(key: str, lang: str = "en", **values) -> str:
    """The label `key` in `lang` ("en" or "ru"), formatted with `values`."""
    en, ru = LABELS[key]
    text = ru if lang == "ru" else en
    return text.format(**values) if values else text
