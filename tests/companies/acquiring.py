"""Company "acquiring": an acquiring bank (schema ``acquiring``, off the default search_path; ``ops`` beside it).

Shape: English names; payments reach merchants through terminals (``payments.terminal_id`` -> ``terminals`` ->
``merchants``), and the city is the terminal's; amounts are bigint **tiyn** (1/100 tenge) with the original
currency's amount beside them; text statuses ``SUCCESS`` / ``FAIL`` / ``REFUND``; ``created timestamptz``; the
acquirer knows cards, not customers (``cards``: masked PAN, holder name); schema ``ops`` holds three operational
tables unrelated to the questions, with ``status`` / ``amount`` / ``created_at`` columns of their own.
Conventions: ``acquiring.md``.

Data are fixed-seed relative to the calendar day of the build: N payments over the last DAYS calendar days, today
included up to the moment of the build, about N/DAYS a day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import psycopg

from . import UTC_EPOCH, day_bounds, same_day, stamps

SCHEMAS: tuple[str, ...] = ("acquiring", "ops")
FACT_TABLE = "acquiring.payments"
DAYS = 120
N = 20_000
CARDS = 5_000

MCC = [  # mcc, category_name, description, weight, brand-like legal names
    (5411, "Grocery", "Grocery stores, supermarkets", 14, ["Magnum Cash&Carry LLP", "Small LLP", "Galmart LLP"]),
    (5812, "Restaurants", "Eating places, restaurants", 8, ["Navat Group LLP", "Del Papa LLP", "Dastarkhan LLP"]),
    (5814, "Restaurants", "Fast food restaurants", 7, ["Salam Bro LLP", "Burger Time LLP"]),
    (5541, "Fuel", "Service stations", 6, ["Helios LLP", "Sinooil LLP", "KazMunayGas Onimderi LLP"]),
    (4121, "Transport", "Taxicabs and limousines", 4, ["Yandex.Taxi Kazakhstan LLP", "inDrive Kazakhstan LLP"]),
    (5912, "Pharmacy", "Drug stores and pharmacies", 6, ["Europharma LLP", "Biosfera LLP", "Rauan LLP"]),
    (5732, "Electronics", "Electronics stores", 5, ["Sulpak LLP", "Technodom Operator JSC", "Mechta Market LLP"]),
    (5651, "Clothing", "Family clothing stores", 4, ["LC Waikiki Kazakhstan LLP", "Zolla Kazakhstan LLP"]),
    (4814, "Telecom", "Telecommunication services", 4, ["Kar-Tel LLP", "Kcell JSC", "Mobile Telecom-Service LLP"]),
    (7011, "Travel", "Hotels and resorts", 2, ["Rixos Almaty LLP", "Kazzhol Hotels LLP"]),
    (4511, "Travel", "Airlines", 2, ["Air Astana JSC", "SCAT Airlines JSC", "FlyArystan JSC"]),
    (5999, "Other retail", "Miscellaneous retail stores", 6, []),
]
CITIES = ["Almaty", "Astana", "Shymkent", "Karaganda", "Aktobe", "Taraz", "Pavlodar", "Ust-Kamenogorsk", "Semey"]
CITIES += ["Atyrau"]
CITY_P = [0.3, 0.2, 0.1, 0.08, 0.06, 0.05, 0.05, 0.06, 0.05, 0.05]
SURNAMES = ["Akhmetov", "Serikov", "Kim", "Nurlanov", "Ivanov", "Omarov", "Kasymov", "Ten", "Zhumabekov", "Li"]
INITIALS = "ABDEGKMNORSTZ"
TERMINAL_TYPES = [("POS", "card_present", 0.6), ("mPOS", "card_present", 0.1), ("VIRTUAL", "ecommerce", 0.2)]
TERMINAL_TYPES += [("QR", "qr", 0.1)]
BRANDS = [("Visa", ["440043", "405870", "446375"], 0.52), ("Mastercard", ["510145", "539545", "557057"], 0.4)]
BRANDS += [("UnionPay", ["621423", "625017"], 0.08)]
ISSUERS = ["Halyk Bank", "Kaspi Bank", "ForteBank", "Bank CenterCredit", "Jusan Bank", "Freedom Bank", "Sberbank"]
STATUS = [("SUCCESS", 0.9), ("FAIL", 0.07), ("REFUND", 0.03)]
DECLINE_REASONS = ["insufficient_funds", "do_not_honor", "expired_card", "limit_exceeded", "issuer_unavailable"]
CURRENCIES = [("KZT", 1.0, 0.9), ("USD", 505.0, 0.06), ("EUR", 585.0, 0.02), ("RUB", 6.3, 0.02)]

DDL = """
CREATE SCHEMA acquiring;
COMMENT ON SCHEMA acquiring IS 'Acquiring: card payments accepted at our terminals';
CREATE TABLE acquiring.mcc_reference(mcc smallint PRIMARY KEY, category_name text NOT NULL, description text);
COMMENT ON TABLE acquiring.mcc_reference IS 'Merchant category codes and the category each belongs to';
CREATE TABLE acquiring.merchants(
  merchant_id int PRIMARY KEY, legal_name text NOT NULL, bin char(12) NOT NULL,
  mcc smallint NOT NULL REFERENCES acquiring.mcc_reference, is_active boolean NOT NULL, onboarded_on date NOT NULL);
COMMENT ON TABLE acquiring.merchants IS 'Merchants (legal entities) under acquiring contract';
CREATE TABLE acquiring.terminals(
  terminal_id varchar(8) PRIMARY KEY, merchant_id int NOT NULL REFERENCES acquiring.merchants,
  terminal_type text NOT NULL, city text NOT NULL, address text, installed_on date NOT NULL);
COMMENT ON TABLE acquiring.terminals IS 'Terminals: physical POS, mPOS, QR stands and virtual e-commerce terminals';
COMMENT ON COLUMN acquiring.terminals.city IS 'City where the terminal stands (registered city for virtual ones)';
CREATE TABLE acquiring.cards(
  card_id bigint PRIMARY KEY, masked_pan varchar(19) NOT NULL, holder_name text, issuer_bank text NOT NULL,
  issuer_country char(2) NOT NULL);
COMMENT ON TABLE acquiring.cards IS 'Cards seen at our terminals (tokenised; holder name as embossed)';
CREATE TABLE acquiring.payments(
  payment_id bigint PRIMARY KEY, created timestamptz NOT NULL,
  terminal_id varchar(8) NOT NULL REFERENCES acquiring.terminals, card_id bigint NOT NULL REFERENCES acquiring.cards,
  amount bigint NOT NULL, currency char(3) NOT NULL, original_amount numeric(14,2) NOT NULL,
  status text NOT NULL, channel text NOT NULL, card_brand text NOT NULL, auth_code char(6), rrn char(12) NOT NULL,
  decline_reason text);
COMMENT ON TABLE acquiring.payments IS 'Card payments accepted at our terminals';
COMMENT ON COLUMN acquiring.payments.created IS 'When the payment was authorised';
COMMENT ON COLUMN acquiring.payments.amount IS 'Settlement amount in tiyn (1/100 tenge)';
COMMENT ON COLUMN acquiring.payments.currency IS 'Currency of the purchase (ISO 4217 letters)';
COMMENT ON COLUMN acquiring.payments.original_amount IS 'Purchase amount in the purchase currency (major units)';
COMMENT ON COLUMN acquiring.payments.status IS 'SUCCESS = approved, FAIL = declined, REFUND = refunded to the card';
COMMENT ON COLUMN acquiring.payments.channel IS 'card_present, ecommerce or qr';
CREATE INDEX ON acquiring.payments(created);
CREATE INDEX ON acquiring.payments(terminal_id);

CREATE SCHEMA ops;
COMMENT ON SCHEMA ops IS 'Back-office operations';
CREATE TABLE ops.batch_runs(
  run_id serial PRIMARY KEY, job_name text NOT NULL, started_at timestamptz NOT NULL, finished_at timestamptz,
  status text NOT NULL, rows_processed int);
COMMENT ON TABLE ops.batch_runs IS 'Nightly batch jobs';
CREATE TABLE ops.settlement_files(
  file_id serial PRIMARY KEY, file_name text NOT NULL, created_at timestamptz NOT NULL, status text NOT NULL,
  amount bigint NOT NULL, records int NOT NULL);
COMMENT ON TABLE ops.settlement_files IS 'Settlement files exchanged with the card schemes';
COMMENT ON COLUMN ops.settlement_files.amount IS 'Total of the file in tiyn';
CREATE TABLE ops.alerts(
  alert_id serial PRIMARY KEY, created_at timestamptz NOT NULL, severity text NOT NULL, source text NOT NULL,
  message text NOT NULL, acknowledged boolean NOT NULL);
COMMENT ON TABLE ops.alerts IS 'Monitoring alerts';
"""


def _pick(rng: np.random.Generator, items: list) -> object:
    return items[int(rng.integers(0, len(items)))]


def load(target: psycopg.Connection | str) -> int:
    """Create and fill schemas ``acquiring`` and ``ops`` in the (empty) database of ``target`` (a superuser
    connection, left uncommitted, or a libpq URL, committed); returns the number of payments."""
    if isinstance(target, str):
        with psycopg.connect(target) as conn:
            return load(conn)
    conn = target
    rng = np.random.default_rng(7_100)
    today = conn.execute("SELECT current_date").fetchone()[0]
    cur = conn.cursor()
    cur.execute(DDL)
    cur.executemany("INSERT INTO acquiring.mcc_reference VALUES (%s,%s,%s)", [m[:3] for m in MCC])

    # merchants: the chains of each MCC, then individual entrepreneurs; names are unique
    mcc_p = np.array([m[3] for m in MCC], float)
    merchants: list[tuple] = []
    names: set[str] = set()
    for code, _, _, _, chains in MCC:
        for name in chains:
            merchants.append((name, code))
            names.add(name)
    while len(merchants) < 160:
        code = MCC[int(rng.choice(len(MCC), p=mcc_p / mcc_p.sum()))][0]
        name = f"IE {_pick(rng, SURNAMES)} {_pick(rng, list(INITIALS))}.{_pick(rng, list(INITIALS))}."
        if name not in names:
            merchants.append((name, code))
            names.add(name)
    with cur.copy("COPY acquiring.merchants FROM STDIN") as cp:
        for i, (name, code) in enumerate(merchants):
            onboarded = dt.date(2012, 1, 1) + dt.timedelta(days=int(rng.integers(0, 4500)))
            cp.write_row(
                (i + 1, name, "".join(map(str, rng.integers(0, 10, 12))), code, rng.random() < 0.95, onboarded)
            )

    # terminals: chains have many, entrepreneurs one or two; a merchant keeps to one or two cities
    t_rows: list[tuple] = []
    t_channel: list[str] = []
    type_p = np.array([t[2] for t in TERMINAL_TYPES])
    for i, (name, _) in enumerate(merchants):
        home = int(rng.choice(len(CITIES), p=CITY_P))
        count = int(rng.integers(3, 12)) if not name.startswith("IE ") else int(rng.integers(1, 3))
        for _ in range(count):
            kind, channel, _ = TERMINAL_TYPES[int(rng.choice(len(TERMINAL_TYPES), p=type_p))]
            city = CITIES[home] if rng.random() < 0.6 else CITIES[int(rng.choice(len(CITIES), p=CITY_P))]
            installed = dt.date(2018, 1, 1) + dt.timedelta(days=int(rng.integers(0, 2500)))
            address = None if kind == "VIRTUAL" else f"{_pick(rng, ['Abay', 'Dostyk', 'Tole bi', 'Satpayev'])} {i}"
            t_rows.append((f"T{len(t_rows) + 1:07d}", i + 1, kind, city, address, installed))
            t_channel.append(channel)
    with cur.copy("COPY acquiring.terminals FROM STDIN") as cp:
        for row in t_rows:
            cp.write_row(row)
    t_w = rng.gamma(0.9, 1.0, len(t_rows))
    t_w /= t_w.sum()

    # cards: the brand follows the BIN of the masked PAN
    brand_p = np.array([b[2] for b in BRANDS])
    c_brand = rng.choice(len(BRANDS), CARDS, p=brand_p)
    with cur.copy("COPY acquiring.cards FROM STDIN") as cp:
        for i in range(CARDS):
            b = BRANDS[c_brand[i]]
            pan = f"{_pick(rng, b[1])}******{int(rng.integers(1000, 10000))}"
            holder = (
                f"{_pick(rng, ['ARMAN', 'AIGERIM', 'DANIYAR', 'OLGA', 'ASEL', 'TIMUR'])} {_pick(rng, SURNAMES).upper()}"
            )
            foreign = rng.random() < 0.06
            issuer = "Foreign issuer" if foreign else _pick(rng, ISSUERS)
            cp.write_row((i + 1, pan, holder if rng.random() < 0.9 else None, issuer, "US" if foreign else "KZ"))
    c_w = rng.gamma(1.5, 1.0, CARDS)
    c_w /= c_w.sum()

    # payments over the last DAYS days
    secs = stamps(rng, *day_bounds(conn, DAYS - 1, 0, local=False), N)
    term = rng.choice(len(t_rows), N, p=t_w)
    card = rng.choice(CARDS, N, p=c_w)
    tiyn = np.round(rng.lognormal(8.7, 1.1, N) * 100).astype(np.int64)
    status = rng.choice(len(STATUS), N, p=[s[1] for s in STATUS])
    currency = rng.choice(len(CURRENCIES), N, p=[c[2] for c in CURRENCIES])
    reason = rng.integers(0, len(DECLINE_REASONS), N)
    auth = rng.integers(0, 10**6, N)
    rrn = rng.integers(10**11, 10**12, N)
    with cur.copy("COPY acquiring.payments FROM STDIN") as cp:
        for k in range(N):
            code, rate, _ = CURRENCIES[currency[k]]
            st = STATUS[status[k]][0]
            cp.write_row(
                (
                    k + 1,
                    UTC_EPOCH + dt.timedelta(seconds=float(secs[k])),
                    t_rows[term[k]][0],
                    int(card[k]) + 1,
                    int(tiyn[k]),
                    code,
                    round(int(tiyn[k]) / 100 / rate, 2),
                    st,
                    t_channel[term[k]],
                    BRANDS[c_brand[card[k]]][0],
                    None if st == "FAIL" else f"{auth[k]:06d}",
                    f"{rrn[k]:012d}",
                    DECLINE_REASONS[reason[k]] if st == "FAIL" else None,
                )
            )

    # ops: a few rows a day, unrelated to the payments
    starts = day_bounds(conn, DAYS - 1, 1, local=False)[0]
    with cur.copy("COPY ops.batch_runs(job_name, started_at, finished_at, status, rows_processed) FROM STDIN") as cp:
        for s in starts:
            for job, hour in (("clearing", 1), ("settlement", 2), ("fees", 3)):
                begin = UTC_EPOCH + dt.timedelta(seconds=float(s) + hour * 3600)
                failed = rng.random() < 0.05
                cp.write_row(
                    (
                        job,
                        begin,
                        begin + dt.timedelta(minutes=int(rng.integers(3, 40))),
                        "FAIL" if failed else "SUCCESS",
                        None if failed else int(rng.integers(100, 5000)),
                    )
                )
    with cur.copy("COPY ops.settlement_files(file_name, created_at, status, amount, records) FROM STDIN") as cp:
        for s in starts:
            day = (UTC_EPOCH + dt.timedelta(seconds=float(s) + 6 * 3600)).date()
            for scheme in ("VISA", "MC", "UPI"):
                made = UTC_EPOCH + dt.timedelta(seconds=float(s) + 4 * 3600 + int(rng.integers(0, 3600)))
                cp.write_row(
                    (
                        f"{scheme}_{day:%Y%m%d}.csv",
                        made,
                        "FAIL" if rng.random() < 0.03 else "SUCCESS",
                        int(rng.integers(10**9, 10**11)),
                        int(rng.integers(50, 400)),
                    )
                )
    with cur.copy("COPY ops.alerts(created_at, severity, source, message, acknowledged) FROM STDIN") as cp:
        for s in starts:
            for _ in range(int(rng.integers(0, 4))):
                at = UTC_EPOCH + dt.timedelta(seconds=float(s) + int(rng.integers(0, 86400)))
                severity = _pick(rng, ["info", "warning", "critical"])
                cp.write_row((at, severity, _pick(rng, ["hsm", "switch", "clearing"]), f"{severity} event", True))
    same_day(conn, today)
    return N
