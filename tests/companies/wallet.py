"""Company "wallet": an e-wallet and payment service provider (schemas ``core`` and ``ref``, both off the default
search_path).

Shape: English names; payments in ``core.payments`` keyed by a **uuid**; the amount is ``amount_minor`` (bigint,
**minor units** of the currency: tiyn for tenge) with our fee ``fee_minor`` beside it; the currency is an ISO 4217
**numeric** code (``currency_code`` -> ``ref.currencies``: 398 -> KZT); the status is a PostgreSQL **ENUM**
``core.payment_status`` (``pending`` / ``captured`` / ``declined`` / ``refunded``); two timestamps,
``occurred_at`` (when the payment was made) and ``updated_at`` (its last status change); channel codes ``APP`` /
``WEB`` / ``POS`` / ``QR``. Payments come from wallets (``core.wallets``), wallets belong to users (``core.users``,
personal data, home city); merchants (``core.merchants``: ``display_name``, ``category`` slug, ``city_id`` ->
``ref.cities`` with ``name_ru`` / ``name_en``). A view ``core.v_merchant_daily`` aggregates captured payments only;
``core.topups``, ``core.payouts`` and ``core.kyc_checks`` are other business with amounts, statuses and timestamps
of their own. Conventions: ``wallet.md``.

Data are fixed-seed relative to the calendar day of the build: N payments over the last DAYS calendar days, today
included up to the moment of the build, about N/DAYS a day.
"""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import psycopg

from . import UTC_EPOCH, day_bounds, same_day, stamps

SCHEMAS: tuple[str, ...] = ("core", "ref")
FACT_TABLE = "core.payments"
DAYS = 120
N = 22_000
USERS = 7_000
MERCHANTS = 240

CURRENCIES = [(398, "KZT", 2, "Kazakhstani tenge"), (840, "USD", 2, "US dollar"), (978, "EUR", 2, "Euro")]
CURRENCIES += [(643, "RUB", 2, "Russian ruble"), (417, "KGS", 2, "Kyrgyz som"), (860, "UZS", 2, "Uzbek sum")]
CITIES = [  # id, name_ru, name_en, country, weight for merchants, weight for users
    (1, "Алматы", "Almaty", "KZ", 0.32, 0.28),
    (2, "Астана", "Astana", "KZ", 0.22, 0.2),
    (3, "Шымкент", "Shymkent", "KZ", 0.1, 0.12),
    (4, "Караганда", "Karaganda", "KZ", 0.08, 0.08),
    (5, "Актобе", "Aktobe", "KZ", 0.05, 0.06),
    (6, "Атырау", "Atyrau", "KZ", 0.05, 0.05),
    (7, "Павлодар", "Pavlodar", "KZ", 0.04, 0.05),
    (8, "Усть-Каменогорск", "Oskemen", "KZ", 0.04, 0.05),
    (9, "Костанай", "Kostanay", "KZ", 0.04, 0.05),
    (10, "Тараз", "Taraz", "KZ", 0.03, 0.05),
    (11, "Бишкек", "Bishkek", "KG", 0.03, 0.01),
]
CATEGORIES = [  # slug, weight, usual channels with weights (APP, WEB, POS, QR), brands, median ticket in tenge
    ("grocery", 14, (0.05, 0.05, 0.5, 0.4), ["Magnum", "Small", "Galmart", "Anvar"], 4_500),
    ("restaurants", 9, (0.1, 0.0, 0.5, 0.4), ["Navat", "Del Papa", "Salam Bro", "Coffee Boom"], 6_000),
    ("food_delivery", 7, (0.8, 0.2, 0.0, 0.0), ["Wolt", "Glovo", "Chocofood"], 7_500),
    ("taxi", 7, (0.95, 0.05, 0.0, 0.0), ["Yandex Go", "inDrive", "Uber"], 2_200),
    ("mobile_topup", 10, (0.85, 0.15, 0.0, 0.0), ["Beeline", "Kcell", "Activ", "Tele2"], 2_000),
    ("utilities", 6, (0.7, 0.3, 0.0, 0.0), ["Almaty Energo Sbyt", "Astana-ERC", "Alseco"], 14_000),
    ("marketplace", 8, (0.6, 0.4, 0.0, 0.0), ["Wildberries", "Ozon", "Lamoda"], 12_000),
    ("games", 4, (0.5, 0.5, 0.0, 0.0), ["Steam", "PlayStation Store", "Garena"], 5_000),
    ("pharmacy", 5, (0.05, 0.05, 0.5, 0.4), ["Europharma", "Biosfera", "Rauan"], 5_500),
    ("fuel", 5, (0.1, 0.0, 0.6, 0.3), ["Helios", "Sinooil", "Qazaq Oil"], 11_000),
    ("transport", 4, (0.3, 0.0, 0.2, 0.5), ["Onay", "Astana LRT", "Temir Zholy"], 900),
    ("electronics", 3, (0.2, 0.3, 0.4, 0.1), ["Sulpak", "Technodom", "Mechta"], 45_000),
]
CHANNELS = ("APP", "WEB", "POS", "QR")
STATUS = [("captured", 0.895), ("declined", 0.07), ("refunded", 0.02), ("pending", 0.015)]
DECLINE_CODES = ["insufficient_balance", "limit_exceeded", "fraud_suspected", "wallet_blocked", "merchant_unavailable"]
FIRST = ["Arman", "Aigerim", "Daniyar", "Olga", "Yerzhan", "Asel", "Timur", "Dinara", "Sergey", "Madina", "Alibek"]
LAST = ["Akhmetov", "Serikov", "Kim", "Nurlanov", "Ivanov", "Omarov", "Kasymov", "Ten", "Zhumabekov", "Li"]

DDL = """
CREATE SCHEMA ref;
COMMENT ON SCHEMA ref IS 'Reference data shared by all services';
CREATE TABLE ref.currencies(numeric_code smallint PRIMARY KEY, alpha_code char(3) NOT NULL UNIQUE,
  minor_units smallint NOT NULL, name text NOT NULL);
COMMENT ON TABLE ref.currencies IS 'ISO 4217 currencies';
COMMENT ON COLUMN ref.currencies.minor_units IS 'Digits after the decimal point (2: 1 KZT = 100 tiyn)';
CREATE TABLE ref.cities(id smallint PRIMARY KEY, name_ru text NOT NULL, name_en text NOT NULL,
  country_code char(2) NOT NULL);
COMMENT ON TABLE ref.cities IS 'Cities (Russian and English names)';

CREATE SCHEMA core;
COMMENT ON SCHEMA core IS 'Wallet core: users, wallets, merchants and payments';
CREATE TYPE core.payment_status AS ENUM ('pending', 'captured', 'declined', 'refunded');
CREATE TABLE core.users(user_id bigint PRIMARY KEY, full_name text NOT NULL, phone text NOT NULL, iin char(12),
  city_id smallint REFERENCES ref.cities, registered_at timestamptz NOT NULL, kyc_level smallint NOT NULL);
COMMENT ON TABLE core.users IS 'Wallet users (personal data)';
COMMENT ON COLUMN core.users.city_id IS 'Home city the user gave at registration';
COMMENT ON COLUMN core.users.kyc_level IS '0 = anonymous, 1 = simplified, 2 = full identification';
CREATE TABLE core.wallets(wallet_id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES core.users,
  currency_code smallint NOT NULL REFERENCES ref.currencies, kind text NOT NULL, is_blocked boolean NOT NULL,
  opened_at timestamptz NOT NULL);
COMMENT ON TABLE core.wallets IS 'Wallets: every user has a main wallet, some a savings one too';
COMMENT ON COLUMN core.wallets.kind IS 'main or savings';
CREATE TABLE core.merchants(merchant_id int PRIMARY KEY, display_name text NOT NULL, legal_name text NOT NULL,
  category text NOT NULL, city_id smallint NOT NULL REFERENCES ref.cities, is_active boolean NOT NULL,
  onboarded_at timestamptz NOT NULL);
COMMENT ON TABLE core.merchants IS 'Merchants accepting wallet payments';
COMMENT ON COLUMN core.merchants.display_name IS 'Name shown to users in the app';
COMMENT ON COLUMN core.merchants.category IS 'Business category slug (grocery, taxi, mobile_topup, ...)';
COMMENT ON COLUMN core.merchants.city_id IS 'City of the merchant point of sale (registered city for online ones)';
CREATE TABLE core.payments(
  payment_id uuid PRIMARY KEY, occurred_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  wallet_id bigint NOT NULL REFERENCES core.wallets, merchant_id int NOT NULL REFERENCES core.merchants,
  amount_minor bigint NOT NULL, fee_minor bigint NOT NULL,
  currency_code smallint NOT NULL REFERENCES ref.currencies, status core.payment_status NOT NULL,
  channel varchar(3) NOT NULL, decline_code text, external_ref text NOT NULL);
COMMENT ON TABLE core.payments IS 'Payments from wallets to merchants';
COMMENT ON COLUMN core.payments.occurred_at IS 'When the user made the payment';
COMMENT ON COLUMN core.payments.updated_at IS 'Last status change (capture, decline or refund)';
COMMENT ON COLUMN core.payments.amount_minor IS 'Payment amount in minor units of currency_code (tiyn for KZT)';
COMMENT ON COLUMN core.payments.fee_minor IS 'Our fee charged to the merchant, minor units';
COMMENT ON COLUMN core.payments.currency_code IS 'ISO 4217 numeric code';
COMMENT ON COLUMN core.payments.channel IS 'APP = in-app, WEB = web checkout, POS = NFC at a terminal, QR = QR scan';
CREATE INDEX ON core.payments(occurred_at);
CREATE INDEX ON core.payments(merchant_id);
CREATE VIEW core.v_merchant_daily AS
  SELECT occurred_at::date AS day, merchant_id, count(*) AS payments, sum(amount_minor) AS amount_minor
  FROM core.payments WHERE status = 'captured' GROUP BY 1, 2;
COMMENT ON VIEW core.v_merchant_daily IS 'Captured payments per merchant and day (merchant dashboard)';

CREATE TABLE core.topups(topup_id bigint PRIMARY KEY, wallet_id bigint NOT NULL REFERENCES core.wallets,
  created_at timestamptz NOT NULL, amount_minor bigint NOT NULL, source text NOT NULL, status text NOT NULL);
COMMENT ON TABLE core.topups IS 'Wallet top-ups (cash-in) from cards, terminals and bank transfers';
CREATE TABLE core.payouts(payout_id bigint PRIMARY KEY, merchant_id int NOT NULL REFERENCES core.merchants,
  created_at timestamptz NOT NULL, amount_minor bigint NOT NULL, currency_code smallint NOT NULL,
  status text NOT NULL, bank_reference text);
COMMENT ON TABLE core.payouts IS 'Settlement payouts to merchants bank accounts';
CREATE TABLE core.kyc_checks(check_id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES core.users,
  created_at timestamptz NOT NULL, provider text NOT NULL, status text NOT NULL, score numeric(4,3));
COMMENT ON TABLE core.kyc_checks IS 'Identity checks of users';
"""


def _pick(rng: np.random.Generator, items: list) -> object:
    return items[int(rng.integers(0, len(items)))]


def _at(seconds: float) -> dt.datetime:
    return UTC_EPOCH + dt.timedelta(seconds=float(seconds))


def load(target: psycopg.Connection | str) -> int:
    """Create and fill schemas ``core`` and ``ref`` in the (empty) database of ``target`` (a superuser connection,
    left uncommitted, or a libpq URL, committed); returns the number of payments."""
    if isinstance(target, str):
        with psycopg.connect(target) as conn:
            return load(conn)
    conn = target
    rng = np.random.default_rng(4_398)
    today = conn.execute("SELECT current_date").fetchone()[0]
    now = float(conn.execute("SELECT extract(epoch FROM now())").fetchone()[0])
    cur = conn.cursor()
    cur.execute(DDL)
    cur.executemany("INSERT INTO ref.currencies VALUES (%s,%s,%s,%s)", CURRENCIES)
    cur.executemany("INSERT INTO ref.cities VALUES (%s,%s,%s,%s)", [c[:4] for c in CITIES])
    merchant_city_p = np.array([c[4] for c in CITIES]) / sum(c[4] for c in CITIES)
    user_city_p = np.array([c[5] for c in CITIES]) / sum(c[5] for c in CITIES)
    registered_from = now - 3 * 365 * 86400

    # users and their wallets: a main KZT wallet each, a savings wallet for some
    with cur.copy("COPY core.users FROM STDIN") as cp:
        for i in range(USERS):
            phone = f"+7 7{int(rng.integers(0, 100)):02d} {int(rng.integers(0, 10**7)):07d}"
            kyc = int(rng.choice(3, p=[0.15, 0.35, 0.5]))
            cp.write_row(
                (
                    i + 1,
                    f"{_pick(rng, FIRST)} {_pick(rng, LAST)}",
                    phone,
                    None if kyc < 2 else "".join(map(str, rng.integers(0, 10, 12))),
                    None if rng.random() < 0.05 else CITIES[int(rng.choice(len(CITIES), p=user_city_p))][0],
                    _at(registered_from + rng.random() * (now - registered_from - 200 * 86400)),
                    kyc,
                )
            )
    wallets: list[int] = []  # wallet index -> user id
    with cur.copy("COPY core.wallets FROM STDIN") as cp:
        for user in range(1, USERS + 1):
            for kind in ("main", "savings") if rng.random() < 0.25 else ("main",):
                wallets.append(user)
                opened = _at(registered_from + rng.random() * (now - registered_from - 150 * 86400))
                cp.write_row((len(wallets), user, 398, kind, rng.random() < 0.01, opened))
    wallet_w = rng.gamma(1.2, 1.0, len(wallets))
    wallet_w /= wallet_w.sum()

    # merchants: the brands of each category (often several points in different cities), then small businesses
    cat_p = np.array([c[1] for c in CATEGORIES], float)
    cat_p /= cat_p.sum()
    merchants: list[tuple[str, int, int]] = []  # display name, category index, city id
    for k, (_, _, _, brands, _) in enumerate(CATEGORIES):
        for brand in brands:
            merchants.append((brand, k, 1))
    seen = {m[0] for m in merchants}
    while len(merchants) < MERCHANTS:
        k = int(rng.choice(len(CATEGORIES), p=cat_p))
        city = CITIES[int(rng.choice(len(CITIES), p=merchant_city_p))]
        if rng.random() < 0.5:
            name = f"{_pick(rng, CATEGORIES[k][3])} {city[2]}"
        else:
            name = f"{_pick(rng, ['Dastarkhan', 'Aru', 'Nur', 'Zhuldyz', 'Baiterek', 'Samal', 'Altyn'])}"
            name += f" {_pick(rng, ['Market', 'Store', 'Service', 'Point', 'Shop', 'Plus'])}"
        if name not in seen:
            seen.add(name)
            merchants.append((name, k, city[0]))
    with cur.copy("COPY core.merchants FROM STDIN") as cp:
        for i, (name, k, city) in enumerate(merchants):
            legal = f"{name} LLP" if rng.random() < 0.7 else f"IE {_pick(rng, LAST)}"
            onboarded = _at(registered_from + rng.random() * (now - registered_from - 130 * 86400))
            cp.write_row((i + 1, name, legal, CATEGORIES[k][0], city, rng.random() < 0.97, onboarded))
    merchant_w = rng.gamma(0.8, 1.0, len(merchants)) * np.array([cat_p[m[1]] for m in merchants])
    merchant_w /= merchant_w.sum()

    # payments over the last DAYS days; the channel follows the merchant's category
    secs = stamps(rng, *day_bounds(conn, DAYS - 1, 0, local=False), N)
    merchant = rng.choice(len(merchants), N, p=merchant_w)
    wallet = rng.choice(len(wallets), N, p=wallet_w)
    status = rng.choice(len(STATUS), N, p=[s[1] for s in STATUS])
    status[(status == 3) & (secs < now - 2 * 86400)] = 0  # only recent payments are still pending
    spread = rng.lognormal(0.0, 0.9, N)
    chan_cum = np.cumsum([CATEGORIES[merchants[m][1]][2] for m in merchant], axis=1)
    channel = (rng.random(N)[:, None] > chan_cum[:, :-1]).sum(axis=1)
    lag = rng.exponential(1.0, N)
    ids = rng.bytes(16 * N)
    with cur.copy("COPY core.payments FROM STDIN") as cp:
        for k in range(N):
            cat = CATEGORIES[merchants[merchant[k]][1]]
            minor = max(5_000, round(float(cat[4] * spread[k])) * 100)
            st = STATUS[status[k]][0]
            if st == "refunded":
                updated = min(now, secs[k] + 3600 + lag[k] * 3 * 86400)
            elif st == "pending":
                updated = secs[k]
            else:
                updated = min(now, secs[k] + 1 + lag[k] * 2)
            cp.write_row(
                (
                    uuid.UUID(bytes=ids[16 * k : 16 * k + 16], version=4),
                    _at(secs[k]),
                    _at(updated),
                    int(wallet[k]) + 1,
                    int(merchant[k]) + 1,
                    minor,
                    0 if st == "declined" else int(minor * 0.012),
                    398,
                    st,
                    CHANNELS[channel[k]],
                    _pick(rng, DECLINE_CODES) if st == "declined" else None,
                    f"WLT{k + 1:09d}",
                )
            )

    # other business: top-ups, payouts to merchants, KYC checks
    starts = day_bounds(conn, DAYS - 1, 1, local=False)[0]
    with cur.copy("COPY core.topups FROM STDIN") as cp:
        t = 0
        for s in starts:
            for w in rng.choice(len(wallets), int(rng.integers(30, 60)), p=wallet_w):
                t += 1
                cp.write_row(
                    (
                        t,
                        int(w) + 1,
                        _at(s + rng.random() * 86400),
                        int(rng.integers(10, 500)) * 100_000,
                        _pick(rng, ["card", "card", "terminal", "bank_transfer"]),
                        "failed" if rng.random() < 0.04 else "completed",
                    )
                )
    with cur.copy("COPY core.payouts FROM STDIN") as cp:
        p = 0
        for s in starts[::7]:
            for m in range(len(merchants)):
                p += 1
                st = _pick(rng, ["sent"] * 18 + ["failed", "queued"])
                ref = None if st != "sent" else f"PO{int(rng.integers(10**9, 10**10))}"
                cp.write_row((p, m + 1, _at(s + 5 * 3600), int(rng.integers(10**6, 10**9)), 398, st, ref))
    with cur.copy("COPY core.kyc_checks FROM STDIN") as cp:
        for c in range(1, 1_501):
            cp.write_row(
                (
                    c,
                    int(rng.integers(1, USERS + 1)),
                    _at(_pick(rng, list(starts)) + rng.random() * 86400),
                    _pick(rng, ["sumsub", "veriff", "egov"]),
                    _pick(rng, ["passed"] * 8 + ["failed", "review"]),
                    round(float(rng.random()), 3),
                )
            )
    same_day(conn, today)
    return N
