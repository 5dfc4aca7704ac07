-- params: as_of
-- Every deal as it stood at `as_of` (events strictly before it count). The one definition of
-- deal status: the kind of the stage the deal was in, read from its real stage history; for a
-- deal without history, its exported status once its close time has passed, else open.
-- The one definition of money: `amount` is in the reporting currency (the rates' currency, else
-- the deals' most common one), converted at the rate in force on the close date (open deals: on
-- as_of); a deal in a currency without a rate has no `amount` (not priced: `is_priced` false),
-- never an invented rate of 1. The deal's own figure stays in amount_original/currency_original.
-- The one definition of a deal's lifetime: `lifetime_days` from creation to close, or to as_of
-- while open (censored); `age_days` from creation to as_of.
with deals as (
    select * from main.deals
),

last_change as (  -- each deal's real stage change in force at as_of
    select deal_id, pipeline_id, stage_id, entered_at, kind
    from stage_change_spans
    where entered_at < as_of::timestamp and (until is null or until >= as_of::timestamp)
),

with_status as (
    select
        deals.*,
        last_change.deal_id is not null as has_history,
        last_change.entered_at as history_entered_at,
        last_change.pipeline_id as history_pipeline_id,
        last_change.stage_id as history_stage_id,
        case
            when last_change.deal_id is not null then last_change.kind
            when deals.status <> 'open'
                and coalesce(deals.closed_at, deals.created_at) < as_of::timestamp then deals.status
            else 'open'
        end as status_at
    from deals
    left join last_change using (deal_id)
    where coalesce(deals.created_at, deals.closed_at) < as_of::timestamp
),

as_of_view as (
    select
        deal_id,
        case when has_history then history_pipeline_id else pipeline_id end as pipeline_id,
        case when has_history then history_stage_id else stage_id end as stage_id,
        status_at as status,
        title,
        client,
        amount,
        currency,
        owner_id,
        source,
        created_at,
        case
            when status_at = 'open' then null
            when status_at = status and closed_at < as_of::timestamp then closed_at
            when has_history then history_entered_at
            else closed_at
        end as closed_at,
        case when status_at = 'lost' then loss_reason end as loss_reason,
        case when has_history then history_entered_at end as stage_entered_at,
        has_history
    from with_status
),

lifetimes as (  -- the one definition of a deal's age and cycle
    select
        *,
        date_diff('second', created_at, as_of::timestamp) / 86400.0 as age_days,
        -- creation to close, or to as_of while open (then censored: still running)
        date_diff('second', created_at, coalesce(closed_at, as_of::timestamp)) / 86400.0 as lifetime_days,
        closed_at < created_at as is_closed_before_created
    from as_of_view
),

reporting as (
    select coalesce(
        (select min(reporting_currency) from main.currency_rates),
        (
            select currency from deals where currency is not null
            group by currency order by count(*) desc, currency limit 1
        )
    ) as reporting_currency
),

to_price as (
    select
        lifetimes.*,
        reporting.reporting_currency,
        coalesce(lifetimes.currency, reporting.reporting_currency) as deal_currency,
        coalesce(lifetimes.closed_at::date, as_of::timestamp::date) as rate_date
    from lifetimes
    cross join reporting
),

dated_rates as (
    select currency, valid_from, rate from main.currency_rates where valid_from is not null
),

undated_rates as (
    select currency, rate from main.currency_rates where valid_from is null
),

with_rate as (
    select
        to_price.*,
        case
            -- the reporting currency itself, or no currency anywhere in the account
            when to_price.deal_currency = to_price.reporting_currency or to_price.reporting_currency is null
                then 1.0
            else coalesce(dated_rates.rate, undated_rates.rate)
        end as rate
    from to_price
    asof left join dated_rates  -- DuckDB's as-of join: the latest rate on or before the day
        on dated_rates.currency = to_price.deal_currency and to_price.rate_date >= dated_rates.valid_from
    left join undated_rates on undated_rates.currency = to_price.deal_currency
),

final as (
    select
        * exclude (amount, currency, reporting_currency, deal_currency, rate),
        round(amount * rate, 2)::decimal(18, 2) as amount,
        reporting_currency as currency,
        amount as amount_original,
        deal_currency as currency_original,
        rate as rate_to_reporting,
        amount is null or rate is not null as is_priced
    from with_rate
)

select * from final
