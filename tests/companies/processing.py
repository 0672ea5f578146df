"""Company "processing": a card processing centre shared by several banks (schema ``processing``).

Shape: transliterated Russian names; operations in ``processing.operacii``, partitioned by month (one partition per
calendar month plus next month's); ``timestamp without time zone`` holding local time (Asia/Almaty, also the
database time zone); status as a smallint response code with a lookup table ``status_codes``; cards with personal
data (holder name, IIN, phone, masked PAN); merchants; MCC and currency reference tables; Russian comments on some
columns; an unrelated load-log table. Conventions: ``processing.md``.

Data are fixed-seed relative to the calendar day of the build: N operations over the last DAYS calendar days
(local time), today included up to the moment of the build; every day, today included, holds about N/DAYS of them
(a build just after midnight squeezes today's into the minutes since midnight). History is extended back to the
start of the most recent NAMED_MONTH (a month the questions name) when the DAYS window does not reach it; the extra
history comes from a second generator, so the last DAYS days are the same whatever the date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import psycopg

from . import LOCAL_EPOCH, day_bounds, same_day, stamps

SCHEMAS: tuple[str, ...] = ("processing",)
FACT_TABLE = "processing.operacii"
DAYS = 120  # calendar days of operations ending today
N = 30_000  # operations in those DAYS days
NAMED_MONTH = 9  # September: the most recent one is always covered
MERCHANTS = 500
CARDS = 6_000

STATUS = [  # code, name_ru, name_en, share of operations
    (0, "Одобрена", "Approved", 0.88),
    (5, "Отказ: не обслуживать", "Declined: do not honour", 0.025),
    (51, "Отказ: недостаточно средств", "Declined: insufficient funds", 0.05),
    (54, "Отказ: истёк срок действия карты", "Declined: expired card", 0.01),
    (61, "Отказ: превышен лимит", "Declined: exceeds amount limit", 0.015),
    (96, "Отказ: системная ошибка", "Declined: system malfunction", 0.005),
    (400, "Отменена (реверсал)", "Reversed", 0.015),
]
DECLINED = (5, 51, 54, 61, 96)
CURRENCIES = [  # numeric code, letters, name, rate to tenge, share
    (398, "KZT", "Казахстанский тенге", 1.0, 0.92),
    (840, "USD", "Доллар США", 505.0, 0.05),
    (643, "RUB", "Российский рубль", 6.3, 0.02),
    (978, "EUR", "Евро", 585.0, 0.01),
]
MCC = [  # kod_mcc, opisanie, kategoriya, brands
    (5411, "Продуктовые магазины и супермаркеты", "Продукты", ["Magnum", "Small", "Galmart", "Анвар"]),
    (5499, "Прочие продуктовые магазины", "Продукты", ["Продукты 24", "Азық-түлік"]),
    (5812, "Рестораны", "Рестораны и кафе", ["Нават", "Del Papa", "Дастархан"]),
    (5814, "Фастфуд", "Рестораны и кафе", ["Салам Бро", "Tomato", "Burger Time"]),
    (5541, "Автозаправочные станции", "Транспорт", ["Helios", "Sinooil", "КазМунайГаз"]),
    (4121, "Такси", "Транспорт", ["Яндекс Go", "inDrive"]),
    (4111, "Пассажирский транспорт", "Транспорт", ["Онай", "Tulpar Card"]),
    (5912, "Аптеки", "Здоровье", ["Europharma", "Биосфера", "Рауан"]),
    (8062, "Больницы и клиники", "Здоровье", ["Медикер", "Сункар"]),
    (5732, "Магазины электроники", "Электроника", ["Sulpak", "Technodom", "Mechta"]),
    (5651, "Одежда для всей семьи", "Одежда и обувь", ["LC Waikiki", "Mango", "Zolla"]),
    (5661, "Обувные магазины", "Одежда и обувь", ["Respect", "Ecco"]),
    (4814, "Услуги связи", "Связь и коммунальные", ["Beeline", "Kcell", "Tele2"]),
    (4900, "Коммунальные услуги", "Связь и коммунальные", ["Алматы Су", "АлматыЭнергоСбыт"]),
    (7011, "Гостиницы", "Путешествия", ["Rixos", "Kazzhol"]),
    (4511, "Авиакомпании", "Путешествия", ["Air Astana", "SCAT", "FlyArystan"]),
    (5311, "Универмаги", "Универмаги", ["ЦУМ", "Mega", "Dostyk Plaza"]),
    (5999, "Прочая розничная торговля", "Прочее", ["Мелочи жизни", "Fix Price"]),
    (6011, "Выдача наличных в банкоматах", "Наличные", ["Банкомат"]),
]
MCC_WEIGHTS = [14, 6, 7, 7, 6, 4, 3, 6, 2, 4, 4, 2, 5, 3, 2, 2, 3, 4, 6]
CITIES = ["Алматы", "Астана", "Шымкент", "Караганда", "Актобе", "Тараз", "Павлодар", "Усть-Каменогорск", "Семей"]
CITIES += ["Атырау"]
CITY_P = [0.3, 0.2, 0.1, 0.08, 0.06, 0.05, 0.05, 0.06, 0.05, 0.05]
STREETS = ["Абая", "Достык", "Назарбаева", "Толе би", "Сейфуллина", "Жибек жолы", "Кабанбай батыра", "Райымбека"]
SURNAMES = ["IVANOV", "AKHMETOV", "SERIKOV", "KIM", "NURLANOV", "PETROV", "ABDRAKHMANOV", "ZHUMABEKOV", "TEN"]
SURNAMES += ["OMAROV", "SMAGULOV", "KASYMOV"]
GIVEN = ["ARMAN", "AIGERIM", "DANIYAR", "OLGA", "YERZHAN", "ASEL", "TIMUR", "DINARA", "SERGEY", "MADINA"]
GIVEN += ["NURSULTAN", "ALINA"]
SYSTEMS = ["Visa", "Mastercard", "UnionPay"]
BINS = {0: ["440043", "405870", "446375"], 1: ["510145", "539545", "557057"], 2: ["621423", "625017"]}

DDL = """
CREATE SCHEMA processing;
COMMENT ON SCHEMA processing IS 'Процессинговый центр: авторизации и операции по картам';
CREATE TABLE processing.status_codes(code smallint PRIMARY KEY, name_ru text NOT NULL, name_en text NOT NULL);
COMMENT ON TABLE processing.status_codes IS 'Справочник кодов ответа (статусов) операций';
CREATE TABLE processing.valyuty(
  kod_valyuty smallint PRIMARY KEY, bukvennyy_kod char(3) NOT NULL, naimenovanie text NOT NULL);
COMMENT ON TABLE processing.valyuty IS 'Справочник валют ISO 4217';
CREATE TABLE processing.mcc(kod_mcc smallint PRIMARY KEY, opisanie text NOT NULL, kategoriya text NOT NULL);
COMMENT ON TABLE processing.mcc IS 'Справочник MCC-кодов';
COMMENT ON COLUMN processing.mcc.kategoriya IS 'Укрупнённая категория торговли';
CREATE TABLE processing.torgovcy(
  id_torgovca int PRIMARY KEY, naimenovanie text NOT NULL, bin char(12) NOT NULL,
  kod_mcc smallint NOT NULL REFERENCES processing.mcc, gorod text NOT NULL, adres text,
  data_registracii date NOT NULL, aktiven boolean NOT NULL DEFAULT true);
COMMENT ON TABLE processing.torgovcy IS 'Торговцы (торговые точки и банкоматы)';
COMMENT ON COLUMN processing.torgovcy.bin IS 'БИН торговца';
COMMENT ON COLUMN processing.torgovcy.gorod IS 'Город торговой точки';
CREATE TABLE processing.karty(
  id_karty int PRIMARY KEY, nomer_karty varchar(19) NOT NULL, derzhatel text NOT NULL, iin char(12), telefon text,
  platezhnaya_sistema text NOT NULL, tip_karty text NOT NULL, gorod text, data_vypuska date, srok_deystviya date);
COMMENT ON TABLE processing.karty IS 'Карты и их держатели';
COMMENT ON COLUMN processing.karty.nomer_karty IS 'Маскированный номер карты (PAN)';
COMMENT ON COLUMN processing.karty.derzhatel IS 'Имя держателя, как на карте';
COMMENT ON COLUMN processing.karty.iin IS 'ИИН держателя';
COMMENT ON COLUMN processing.karty.gorod IS 'Город проживания держателя';
CREATE TABLE processing.operacii(
  id_operacii bigint NOT NULL, data_operacii timestamp NOT NULL,
  id_karty int NOT NULL REFERENCES processing.karty, id_torgovca int NOT NULL REFERENCES processing.torgovcy,
  summa numeric(16,2) NOT NULL, kod_valyuty smallint NOT NULL REFERENCES processing.valyuty,
  summa_tenge numeric(16,2) NOT NULL, kanal varchar(8) NOT NULL,
  kod_statusa smallint NOT NULL REFERENCES processing.status_codes, kod_avtorizacii char(6), rrn char(12) NOT NULL,
  PRIMARY KEY (id_operacii, data_operacii)) PARTITION BY RANGE (data_operacii);
COMMENT ON TABLE processing.operacii IS 'Операции по картам (секционирована по месяцам)';
COMMENT ON COLUMN processing.operacii.data_operacii IS 'Дата и время операции, местное время (Алматы)';
COMMENT ON COLUMN processing.operacii.summa IS 'Сумма в валюте операции';
COMMENT ON COLUMN processing.operacii.kod_valyuty IS 'Код валюты операции ISO 4217 (398 - тенге)';
COMMENT ON COLUMN processing.operacii.summa_tenge IS 'Сумма операции в тенге по курсу на дату операции';
COMMENT ON COLUMN processing.operacii.kanal
  IS 'Канал: POS - терминал, E-COM - интернет, QR - оплата по QR, ATM - банкомат';
COMMENT ON COLUMN processing.operacii.kod_statusa IS 'Код ответа, см. status_codes';
CREATE TABLE processing.zhurnal_zagruzok(
  id serial PRIMARY KEY, data_zagruzki timestamp NOT NULL, fayl text NOT NULL, strok int NOT NULL);
COMMENT ON TABLE processing.zhurnal_zagruzok IS 'Журнал загрузки файлов от платёжных систем';
"""


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(x) for x in rng.integers(0, 10, n))


def load(target: psycopg.Connection | str) -> int:
    """Create and fill schema ``processing`` in the (empty) database of ``target`` (a superuser connection, left
    uncommitted, or a libpq URL, committed); returns the number of operations."""
    if isinstance(target, str):
        with psycopg.connect(target) as conn:
            return load(conn)
    conn = target
    rng = np.random.default_rng(2024)
    today = conn.execute("SELECT current_date").fetchone()[0]
    cur = conn.cursor()
    cur.execute(DDL)
    cur.executemany("INSERT INTO processing.status_codes VALUES (%s,%s,%s)", [s[:3] for s in STATUS])
    cur.executemany("INSERT INTO processing.valyuty VALUES (%s,%s,%s)", [c[:3] for c in CURRENCIES])
    cur.executemany("INSERT INTO processing.mcc VALUES (%s,%s,%s)", [m[:3] for m in MCC])

    # merchants: the MCC decides the brand; branch numbers keep names unique; activity is skewed
    mcc_p = np.array(MCC_WEIGHTS, float)
    m_mcc = rng.choice(len(MCC), MERCHANTS, p=mcc_p / mcc_p.sum())
    m_city = rng.choice(len(CITIES), MERCHANTS, p=CITY_P)
    branch: dict[str, int] = {}
    is_atm = np.zeros(MERCHANTS, bool)
    with cur.copy("COPY processing.torgovcy FROM STDIN") as cp:
        for i in range(MERCHANTS):
            code, _, _, brands = MCC[m_mcc[i]]
            b = brands[int(rng.integers(0, len(brands)))]
            branch[b] = branch.get(b, 0) + 1
            is_atm[i] = code == 6011
            street = STREETS[int(rng.integers(0, len(STREETS)))]
            cp.write_row(
                (
                    i + 1,
                    f"{b} №{branch[b]}",
                    _digits(rng, 12),
                    code,
                    CITIES[m_city[i]],
                    f"ул. {street}, {int(rng.integers(1, 300))}",
                    dt.date(2015, 1, 1) + dt.timedelta(days=int(rng.integers(0, 3500))),
                    bool(rng.random() < 0.96),
                )
            )
    m_w = rng.gamma(0.8, 1.0, MERCHANTS)
    m_w /= m_w.sum()

    # cards and holders
    k_sys = rng.choice(3, CARDS, p=[0.55, 0.4, 0.05])
    with cur.copy("COPY processing.karty FROM STDIN") as cp:
        for i in range(CARDS):
            s = int(k_sys[i])
            issued = today - dt.timedelta(days=int(rng.integers(30, 1800)))
            female = rng.random() < 0.5
            sur = SURNAMES[int(rng.integers(0, len(SURNAMES)))] + ("A" if female else "")
            cp.write_row(
                (
                    i + 1,
                    f"{BINS[s][int(rng.integers(0, len(BINS[s])))]}******{int(rng.integers(1000, 10000))}",
                    f"{GIVEN[int(rng.integers(0, len(GIVEN)))]} {sur}",
                    _digits(rng, 12),
                    f"+7 7{int(rng.integers(0, 100)):02d} {int(rng.integers(1000000, 10000000))}",
                    SYSTEMS[s],
                    "кредитная" if rng.random() < 0.2 else "дебетовая",
                    CITIES[int(rng.choice(len(CITIES), p=CITY_P))],
                    issued,
                    issued + dt.timedelta(days=365 * 5),
                )
            )
    k_w = rng.gamma(1.5, 1.0, CARDS)
    k_w /= k_w.sum()

    st_code = np.array([s[0] for s in STATUS])
    st_p = np.array([s[3] for s in STATUS])
    cur_code = np.array([c[0] for c in CURRENCIES])
    cur_rate = np.array([c[3] for c in CURRENCIES])
    cur_p = np.array([c[4] for c in CURRENCIES])

    def operation_rows(r: np.random.Generator, secs: np.ndarray) -> Iterator[tuple]:
        n = len(secs)
        merch = r.choice(MERCHANTS, n, p=m_w)
        card = r.choice(CARDS, n, p=k_w)
        tenge = r.lognormal(8.6, 1.05, n)
        ci = r.choice(len(CURRENCIES), n, p=cur_p)
        st = r.choice(len(STATUS), n, p=st_p)
        kanal = r.choice(["POS", "E-COM", "QR"], n, p=[0.65, 0.22, 0.13])
        auth = r.integers(0, 10**6, n)
        rrn = r.integers(10**11, 10**12, n)
        for k in range(n):
            ts = LOCAL_EPOCH + dt.timedelta(seconds=float(secs[k]))
            # the exchange rate drifts by day
            rate = cur_rate[ci[k]] * (1 + 0.02 * np.sin((secs[k] // 86400) / 9.0)) if ci[k] else 1.0
            summa = round(float(tenge[k]) / rate, 2) if ci[k] else round(float(tenge[k]), 2)
            code = int(st_code[st[k]])
            yield (
                ts,
                int(card[k]) + 1,
                int(merch[k]) + 1,
                summa,
                int(cur_code[ci[k]]),
                round(summa * rate, 2),
                "ATM" if is_atm[merch[k]] else str(kanal[k]),
                code,
                None if code in DECLINED else f"{auth[k]:06d}",
                f"{rrn[k]:012d}",
            )

    # the last DAYS days (main generator), then older history back to the most recent NAMED_MONTH (second one)
    base = stamps(rng, *day_bounds(conn, DAYS - 1, 0, local=True), N)
    month_start = dt.date(today.year - (today.month < NAMED_MONTH), NAMED_MONTH, 1)
    extra_days = (today - month_start).days + 1 - DAYS
    older = np.array([])
    if extra_days > 0:
        bounds = day_bounds(conn, DAYS - 1 + extra_days, DAYS, local=True)
        older = stamps(np.random.default_rng(2025), *bounds, N * extra_days // DAYS)
    rows = [*operation_rows(np.random.default_rng(2026), older), *operation_rows(rng, base)]

    # one partition per month from the first operation's month to next month
    month = rows[0][0].date().replace(day=1)
    stop = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    while month <= stop:
        nxt = (month + dt.timedelta(days=32)).replace(day=1)
        cur.execute(
            f"CREATE TABLE processing.operacii_{month:%Y_%m} PARTITION OF processing.operacii"
            f" FOR VALUES FROM ('{month}') TO ('{nxt}')"
        )
        month = nxt
    with cur.copy("COPY processing.operacii FROM STDIN") as cp:
        for k, row in enumerate(rows):
            cp.write_row((k + 1, *row))
    cur.execute("CREATE INDEX ON processing.operacii(data_operacii)")
    cur.execute("CREATE INDEX ON processing.operacii(id_torgovca)")
    # the load log: one file a day per payment system
    day0 = rows[0][0].date()
    with cur.copy("COPY processing.zhurnal_zagruzok(data_zagruzki, fayl, strok) FROM STDIN") as cp:
        for d in range((today - day0).days):
            day = day0 + dt.timedelta(days=d)
            loaded = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(3, 15))
            for s in ("VISA", "MC", "UPI"):
                cp.write_row((loaded, f"{s}_{day:%Y%m%d}.dat", int(rng.integers(100, 5000))))
    same_day(conn, today)
    return len(rows)
