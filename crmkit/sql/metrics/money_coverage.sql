-- Money at as_of: the reporting currency, how many deals with an amount could be priced in it,
-- and per currency that could not, its own total (a sum within one currency is a sum).
with deals as (
    select * from deals_at($as_of::timestamp)
),

with_amount as (
    select * from deals where amount_original is not null
),

rates_used as (
    select max(valid_from) as latest_rate_date from main.currency_rates where valid_from <= $as_of::timestamp
),

unpriced as (
    select
        string_agg(
            format('{:,.0f} {} (n={})', total, currency_original, n), '; ' order by total desc
        ) as unpriced
    from (
        select currency_original, sum(amount_original) as total, count(*) as n
        from with_amount where not is_priced group by currency_original
    ) as per_currency
),

summary as (
    select
        any_value(currency) as reporting_currency,
        count(distinct currency_original) as n_currencies,
        count(*) as n_with_amount,
        count(*) filter (where is_priced) as n_priced,
        (select latest_rate_date from rates_used) as latest_rate_date,
        (select unpriced from unpriced) as unpriced
    from with_amount
)

select * from summary
