SELECT transaction_ts::date AS day, COUNT(*) AS total_transactions FROM transactions WHERE transaction_ts >= current_date - 29 GROUP BY day ORDER BY day
SELECT SUM(amount_kzt) AS total_volume FROM transactions WHERE transaction_ts >= now() - interval '5 months'
SELECT date_trunc('month', current_date) AS month_start, date_trunc('week', current_date)::date AS week_start
SELECT ROUND(100.0 * COUNT(*) FILTER (WHERE status = 'declined') / COUNT(*), 2) AS declined_share FROM transactions
SELECT extract(hour from transaction_ts) AS hour, date_part('dow', transaction_ts) AS dow, COUNT(*) FROM transactions GROUP BY 1, 2 ORDER BY 1, 2
SELECT c.mcc_category, COUNT(*) AS n FROM transactions t JOIN merchants m USING (merchant_id) JOIN mcc_codes c USING (mcc_code) GROUP BY c.mcc_category ORDER BY n DESC, c.mcc_category
WITH daily AS (SELECT transaction_ts::date AS day, SUM(amount_kzt) AS volume FROM transactions GROUP BY 1) SELECT day, volume, LAG(volume) OVER (ORDER BY day) AS prev, volume - LAG(volume) OVER (ORDER BY day) AS delta FROM daily ORDER BY day
SELECT merchant_id, ROW_NUMBER() OVER w AS rn, RANK() OVER w AS rnk, DENSE_RANK() OVER w AS drnk, NTILE(4) OVER w AS quartile, CUME_DIST() OVER w AS cd, PERCENT_RANK() OVER w AS pr FROM merchants WINDOW w AS (ORDER BY registered_at, merchant_id) ORDER BY merchant_id
SELECT DISTINCT city, FIRST_VALUE(merchant_name) OVER (PARTITION BY city ORDER BY merchant_id) AS first_name, LAST_VALUE(merchant_name) OVER (PARTITION BY city ORDER BY merchant_id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_name, LEAD(merchant_id) OVER (PARTITION BY city ORDER BY merchant_id) IS NULL AS is_last FROM merchants ORDER BY city, is_last
SELECT AVG(amount_kzt) AS avg_amount, MIN(amount_kzt) AS min_amount, MAX(amount_kzt) AS max_amount, STDDEV(amount_kzt) AS sd, VARIANCE(amount_kzt) AS var, STDDEV_POP(amount_kzt) AS sd_pop, VAR_POP(amount_kzt) AS var_pop FROM transactions
SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY amount_kzt) AS median, PERCENTILE_DISC(0.9) WITHIN GROUP (ORDER BY amount_kzt) AS p90, MODE() WITHIN GROUP (ORDER BY channel) AS top_channel FROM transactions
SELECT city, STRING_AGG(merchant_name, ', ' ORDER BY merchant_name) AS names, ARRAY_AGG(merchant_id ORDER BY merchant_id) AS ids FROM merchants GROUP BY city ORDER BY city
SELECT BOOL_AND(amount_kzt > 0) AS all_positive, BOOL_OR(status = 'reversed') AS any_reversed, EVERY(currency IN ('KZT', 'USD', 'EUR', 'RUB')) AS known_currencies FROM transactions
SELECT age(current_date, registered_at) AS age, make_date(2024, 1, 31) AS d, make_interval(days => 3) AS i, to_char(registered_at, 'YYYY-MM') AS ym, to_date('2024-03-01', 'YYYY-MM-DD') AS d2, to_timestamp(0) AS epoch FROM merchants ORDER BY merchant_id
SELECT justify_days(interval '45 days') AS jd, justify_hours(interval '50 hours') AS jh, justify_interval(interval '1 month -1 hour') AS ji, current_timestamp - localtimestamp IS NOT NULL AS tz_ok
SELECT round(amount_kzt, 2) AS r, trunc(amount_kzt) AS t, abs(-amount_kzt) AS a, ceil(amount_kzt) AS c, floor(amount_kzt) AS f, greatest(amount_kzt, 1000) AS g, least(amount_kzt, 1000) AS l FROM transactions ORDER BY transaction_id LIMIT 50
SELECT power(2, 10) AS p, sqrt(16) AS s, ln(exp(1)) AS e, log(1000) AS l10, mod(17, 5) AS m, sign(-3) AS sg, div(17, 5) AS d, 17 % 5 AS m2
SELECT lower(full_name) AS lo, upper(city) AS up, initcap(segment) AS ini, length(full_name) AS len, substring(full_name from 1 for 3) AS sub, position(' ' in full_name) AS pos, replace(city, 'a', 'A') AS rep FROM customers ORDER BY customer_id LIMIT 20
SELECT trim('  x  ') AS t, ltrim('  x') AS lt, rtrim('x  ') AS rt, concat(city, '/', segment) AS cc, concat_ws('-', city, segment) AS cw, left(full_name, 2) AS l, right(full_name, 2) AS r, split_part(full_name, ' ', 1) AS first_word FROM customers ORDER BY customer_id LIMIT 20
SELECT lpad(merchant_id::text, 6, '0') AS lp, rpad(city, 12, '.') AS rp, starts_with(merchant_name, 'A') AS sa, regexp_replace(merchant_name, '\s+', ' ', 'g') AS rr, (regexp_match(merchant_name, '^(\w+)'))[1] AS first_word FROM merchants ORDER BY merchant_id
SELECT coalesce(nullif(city, 'Almaty'), 'home') AS place, CASE WHEN segment = 'business' THEN 'B' ELSE 'P' END AS seg, CAST(customer_id AS bigint) AS id FROM customers ORDER BY customer_id LIMIT 30
SELECT d::date AS day, COUNT(t.transaction_id) AS total_transactions FROM generate_series(current_date - 6, current_date, interval '1 day') AS d LEFT JOIN transactions t ON t.transaction_ts::date = d::date GROUP BY d ORDER BY d
SELECT city FROM merchants UNION SELECT city FROM customers ORDER BY city
SELECT city FROM merchants INTERSECT SELECT city FROM customers EXCEPT SELECT 'Nowhere' ORDER BY 1
SELECT m.city, COUNT(*) AS n FROM merchants m WHERE EXISTS (SELECT 1 FROM transactions t WHERE t.merchant_id = m.merchant_id AND t.amount_kzt > 500000) GROUP BY m.city ORDER BY n DESC, m.city LIMIT 5
SELECT COUNT(*) AS n FROM transactions WHERE amount_kzt BETWEEN 10000 AND 20000 AND status <> 'declined' AND card_type IS NOT NULL AND merchant_id IN (SELECT merchant_id FROM merchants WHERE city ILIKE 'a%')
SELECT * FROM (VALUES (1, 'one'), (2, 'two')) AS v(n, word) ORDER BY n
SELECT t.transaction_id, t.amount_kzt FROM transactions t ORDER BY t.amount_kzt DESC NULLS LAST, t.transaction_id LIMIT 10 OFFSET 5
SELECT COUNT(DISTINCT customer_id) AS customers, COUNT(*) FILTER (WHERE transaction_ts >= date_trunc('month', current_date)) AS this_month FROM transactions
SELECT mcc_code, description FROM mcc_codes ORDER BY mcc_code FETCH FIRST 5 ROWS ONLY
SELECT COUNT(*) AS merchant_count /* all of them */ FROM merchants -- a trailing comment
