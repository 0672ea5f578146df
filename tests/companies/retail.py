"""Company "retail": a retail bank whose card payments sit in ``public`` among 80 tables of other business.

Shape: short English names (``id``, ``name``, ``created_at``, ``amount``) explained by **Russian comments** on every
table and on the payment columns; ``payments.amount`` numeric tenge; Russian status words (``успешно`` / ``отказ`` /
``возврат``) and channel words; Cyrillic city names; ``shops`` (the payment's city and category) and ``clients``
(home city, segment, personal data); a view ``v_successful_payments`` (successful payments only, never the fact
table); 80 unrelated tables (loans, deposits, transfers, ATMs, ...; most in ``public``, some in ``hr`` and ``crm``),
many with ``status`` / ``amount`` / ``created_at`` columns of their own. Conventions: ``retail.md``.

Data are fixed-seed relative to the calendar day of the build: N payments over the last DAYS calendar days, today
included up to the moment of the build, about N/DAYS a day. The unrelated tables hold a few rows each.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import psycopg

from . import UTC_EPOCH, day_bounds, same_day, stamps

SCHEMAS: tuple[str, ...] = ("public", "hr", "crm")
FACT_TABLE = "public.payments"
DAYS = 120
N = 20_000
SHOPS = 300
CLIENTS = 6_000

CITIES = ["Алматы", "Астана", "Шымкент", "Караганда", "Актобе", "Тараз", "Павлодар", "Усть-Каменогорск", "Семей"]
CITIES += ["Атырау", "Костанай"]
CITY_P = [0.28, 0.2, 0.1, 0.08, 0.06, 0.05, 0.05, 0.05, 0.05, 0.04, 0.04]
CATEGORIES = [  # category, weight, brands
    ("Продукты", 14, ["Magnum", "Small", "Анвар", "Galmart"]),
    ("Рестораны и кафе", 9, ["Нават", "Del Papa", "Салам Бро", "Кофейня Zerno"]),
    ("АЗС", 6, ["Helios", "Sinooil", "КазМунайГаз"]),
    ("Аптеки", 6, ["Europharma", "Биосфера", "Рауан"]),
    ("Электроника", 4, ["Sulpak", "Technodom", "Mechta"]),
    ("Одежда и обувь", 5, ["LC Waikiki", "Zolla", "Respect"]),
    ("Такси и транспорт", 4, ["Яндекс Go", "inDrive", "Онай"]),
    ("Связь", 3, ["Beeline", "Kcell", "Tele2"]),
    ("Развлечения", 3, ["Kinopark", "Chaplin", "Шымбулак"]),
]
STREETS = ["пр. Абая", "пр. Достык", "ул. Толе би", "ул. Сатпаева", "пр. Аль-Фараби", "ул. Жибек жолы"]
STATUS = [("успешно", 0.89), ("отказ", 0.08), ("возврат", 0.03)]
CHANNELS = [("терминал", 0.62), ("интернет", 0.25), ("QR", 0.13)]
CARD_SYSTEMS = [("VISA", 0.5), ("MASTERCARD", 0.42), ("UNIONPAY", 0.08)]
SEGMENTS = [("массовый", 0.7), ("зарплатный", 0.2), ("премиум", 0.1)]
NAMES = ["Арман", "Айгерим", "Данияр", "Ольга", "Ержан", "Асель", "Тимур", "Динара", "Сергей", "Мадина"]
SURNAMES = ["Ахметов", "Сериков", "Ким", "Нурланов", "Иванов", "Омаров", "Касымов", "Тен", "Жумабеков"]

DDL = """
CREATE TABLE shops(id int PRIMARY KEY, name text NOT NULL, city text NOT NULL, category text NOT NULL,
  address text, opened_on date NOT NULL);
COMMENT ON TABLE shops IS 'Торговые точки, принимающие карты банка';
COMMENT ON COLUMN shops.name IS 'Название точки';
COMMENT ON COLUMN shops.city IS 'Город торговой точки';
COMMENT ON COLUMN shops.category IS 'Категория торговли';
CREATE TABLE clients(id int PRIMARY KEY, name text NOT NULL, city text NOT NULL, segment text NOT NULL,
  birth_date date, phone text);
COMMENT ON TABLE clients IS 'Клиенты банка (держатели карт)';
COMMENT ON COLUMN clients.name IS 'ФИО клиента';
COMMENT ON COLUMN clients.city IS 'Город проживания клиента';
COMMENT ON COLUMN clients.segment IS 'Сегмент: массовый, зарплатный, премиум';
COMMENT ON COLUMN clients.phone IS 'Мобильный телефон';
CREATE TABLE payments(id bigint PRIMARY KEY, created_at timestamptz NOT NULL,
  amount numeric(18,2) NOT NULL, status text NOT NULL, shop_id int NOT NULL REFERENCES shops,
  client_id int NOT NULL REFERENCES clients, channel text NOT NULL, card_system text NOT NULL, card_mask text);
COMMENT ON TABLE payments IS 'Платежи по картам банка в торговых точках';
COMMENT ON COLUMN payments.created_at IS 'Дата и время платежа';
COMMENT ON COLUMN payments.amount IS 'Сумма платежа в тенге';
COMMENT ON COLUMN payments.status IS 'Статус: успешно, отказ, возврат';
COMMENT ON COLUMN payments.shop_id IS 'Торговая точка';
COMMENT ON COLUMN payments.client_id IS 'Клиент-плательщик';
COMMENT ON COLUMN payments.channel IS 'Канал: терминал, интернет, QR';
COMMENT ON COLUMN payments.card_system IS 'Платёжная система карты';
COMMENT ON COLUMN payments.card_mask IS 'Маскированный номер карты';
CREATE INDEX ON payments(created_at);
CREATE INDEX ON payments(shop_id);
CREATE VIEW v_successful_payments AS
  SELECT id, created_at, amount, shop_id, client_id, channel, card_system FROM payments WHERE status = 'успешно';
COMMENT ON VIEW v_successful_payments IS 'Успешные платежи (только со статусом «успешно»)';
CREATE SCHEMA hr;
COMMENT ON SCHEMA hr IS 'Кадры';
CREATE SCHEMA crm;
COMMENT ON SCHEMA crm IS 'Работа с клиентами и продажи';
"""

# Unrelated tables: name, Russian comment, columns. A column is name:kind; kinds are in _KINDS below, and
# ``status`` takes one of _STATUSES (words the payments use too, on purpose).
OTHER_TABLES: list[tuple[str, str, str]] = [
    ("loans", "Кредиты физических лиц", "client_id:ref created_at:ts amount:money status:status rate:rate"),
    ("loan_payments", "Платежи по графику погашения кредитов", "loan_id:ref created_at:ts amount:money status:status"),
    ("loan_applications", "Заявки на кредит", "client_id:ref created_at:ts amount:money status:status"),
    ("loan_schedules", "Графики погашения кредитов", "loan_id:ref due_date:date amount:money"),
    ("deposits", "Депозиты физических лиц", "client_id:ref created_at:ts amount:money status:status rate:rate"),
    (
        "deposit_operations",
        "Пополнения и изъятия по депозитам",
        "deposit_id:ref created_at:ts amount:money status:status",
    ),
    ("accounts", "Текущие счета клиентов", "client_id:ref iban:code currency:currency created_at:ts status:status"),
    ("account_balances", "Остатки на счетах на конец дня", "account_id:ref balance_date:date amount:money"),
    (
        "account_operations",
        "Проводки по текущим счетам",
        "account_id:ref created_at:ts amount:money status:status purpose:text",
    ),
    (
        "transfers",
        "Переводы между счетами и по номеру телефона",
        "from_account:ref to_account:ref created_at:ts amount:money status:status",
    ),
    ("currency_rates", "Курсы валют Национального банка", "rate_date:date currency:currency rate:rate"),
    (
        "exchange_operations",
        "Обмен валюты в отделениях",
        "branch_id:ref created_at:ts amount:money currency:currency status:status",
    ),
    ("cards_issued", "Выпущенные карты", "client_id:ref created_at:ts card_system:system status:status"),
    ("card_limits", "Лимиты по картам", "card_id:ref limit_type:text amount:money"),
    ("card_blocks", "Блокировки карт", "card_id:ref created_at:ts reason:text"),
    ("atms", "Банкоматы банка", "city:city address:text status:status"),
    ("atm_withdrawals", "Снятие наличных в банкоматах", "atm_id:ref created_at:ts amount:money status:status"),
    ("atm_incassations", "Инкассация банкоматов", "atm_id:ref created_at:ts amount:money"),
    ("branches", "Отделения банка", "name:text city:city address:text opened_on:date"),
    ("branch_visits", "Визиты клиентов в отделения", "branch_id:ref client_id:ref created_at:ts"),
    ("cashback_rules", "Правила начисления кешбэка", "category:text percent:rate valid_from:date"),
    ("cashback_accruals", "Начисления кешбэка", "client_id:ref created_at:ts amount:money status:status"),
    ("bonus_points", "Бонусные баллы клиентов", "client_id:ref created_at:ts points:int"),
    ("promo_campaigns", "Маркетинговые акции", "name:text started_at:ts finished_at:ts amount:money"),
    ("promo_participants", "Участники акций", "campaign_id:ref client_id:ref created_at:ts"),
    ("insurance_policies", "Страховые полисы", "client_id:ref created_at:ts amount:money status:status"),
    ("insurance_claims", "Страховые случаи", "policy_id:ref created_at:ts amount:money status:status"),
    ("mortgage_contracts", "Ипотечные договоры", "client_id:ref created_at:ts amount:money status:status"),
    ("collateral", "Залоги по кредитам", "loan_id:ref kind:text amount:money"),
    ("overdue_debts", "Просроченная задолженность", "loan_id:ref created_at:ts amount:money status:status"),
    ("collection_actions", "Действия по взысканию", "debt_id:ref created_at:ts action:text status:status"),
    ("credit_scores", "Кредитный скоринг клиентов", "client_id:ref created_at:ts score:int"),
    ("kyc_checks", "Проверки KYC", "client_id:ref created_at:ts status:status"),
    ("aml_alerts", "Сигналы финансового мониторинга (AML)", "created_at:ts amount:money status:status rule:text"),
    ("fraud_cases", "Случаи мошенничества", "client_id:ref created_at:ts amount:money status:status"),
    ("complaints", "Жалобы клиентов", "client_id:ref created_at:ts status:status topic:text"),
    ("call_center_calls", "Звонки в колл-центр", "client_id:ref created_at:ts duration_sec:int status:status"),
    ("sms_notifications", "SMS-уведомления", "client_id:ref created_at:ts status:status message:text"),
    ("push_notifications", "Push-уведомления", "client_id:ref created_at:ts status:status"),
    ("email_campaigns", "E-mail рассылки", "name:text created_at:ts status:status"),
    ("mobile_sessions", "Сессии мобильного приложения", "client_id:ref created_at:ts platform:text"),
    ("app_versions", "Версии мобильного приложения", "platform:text version:code released_at:ts"),
    ("login_attempts", "Попытки входа в интернет-банк", "client_id:ref created_at:ts status:status"),
    ("devices", "Устройства клиентов", "client_id:ref model:text created_at:ts"),
    ("tariffs", "Тарифы на обслуживание", "name:text amount:money valid_from:date"),
    ("tariff_changes", "Смена тарифов клиентами", "client_id:ref tariff_id:ref created_at:ts"),
    ("fees", "Комиссии, взысканные с клиентов", "client_id:ref created_at:ts amount:money kind:text"),
    ("taxes_paid", "Налоги, уплаченные банком", "created_at:ts amount:money status:status"),
    ("payroll_projects", "Зарплатные проекты", "name:text created_at:ts status:status"),
    ("payroll_payouts", "Выплаты по зарплатным проектам", "project_id:ref created_at:ts amount:money status:status"),
    ("utility_providers", "Поставщики коммунальных услуг", "name:text city:city"),
    (
        "utility_bills",
        "Оплата коммунальных услуг через банк",
        "client_id:ref provider_id:ref created_at:ts amount:money status:status",
    ),
    ("safe_deposit_boxes", "Сейфовые ячейки", "branch_id:ref size:text status:status"),
    ("box_rentals", "Аренда сейфовых ячеек", "box_id:ref client_id:ref created_at:ts amount:money"),
    ("securities", "Ценные бумаги", "ticker:code name:text currency:currency"),
    (
        "brokerage_orders",
        "Брокерские поручения",
        "client_id:ref security_id:ref created_at:ts amount:money status:status",
    ),
    ("treasury_deals", "Казначейские сделки", "created_at:ts amount:money currency:currency status:status"),
    ("interbank_loans", "Межбанковские займы", "bank_name:text created_at:ts amount:money rate:rate"),
    ("correspondent_accounts", "Корреспондентские счета", "bank_name:text currency:currency amount:money"),
    ("swift_messages", "Сообщения SWIFT", "created_at:ts amount:money currency:currency status:status"),
    ("regulatory_reports", "Отчёты регулятору", "report_code:code created_at:ts status:status"),
    ("audit_findings", "Замечания внутреннего аудита", "created_at:ts status:status severity:text"),
    ("it_incidents", "ИТ-инциденты", "created_at:ts status:status system:text"),
    ("document_templates", "Шаблоны документов", "name:text created_at:ts"),
    ("contracts", "Договоры с клиентами", "client_id:ref created_at:ts kind:text status:status"),
    ("signatures", "Электронные подписи документов", "contract_id:ref created_at:ts"),
    ("courier_deliveries", "Доставка карт курьером", "client_id:ref created_at:ts status:status city:city"),
    ("office_supplies", "Закупки канцтоваров", "name:text created_at:ts amount:money"),
    ("vendors", "Поставщики банка", "name:text city:city"),
    ("vendor_invoices", "Счета поставщиков", "vendor_id:ref created_at:ts amount:money status:status"),
    ("hr.employees", "Сотрудники банка", "name:text city:city created_at:ts status:status"),
    ("hr.salaries", "Начисления заработной платы", "employee_id:ref created_at:ts amount:money"),
    ("hr.vacations", "Отпуска сотрудников", "employee_id:ref created_at:ts status:status"),
    ("hr.departments", "Подразделения", "name:text city:city"),
    ("hr.trainings", "Обучение сотрудников", "name:text created_at:ts amount:money"),
    ("crm.leads", "Лиды", "created_at:ts status:status amount:money"),
    ("crm.deals", "Сделки с корпоративными клиентами", "created_at:ts amount:money status:status"),
    ("crm.contacts", "Контактные лица", "name:text city:city phone:code"),
    ("crm.tasks", "Задачи менеджеров", "created_at:ts status:status"),
    ("crm.segment_history", "История смены сегмента клиента", "client_id:ref segment:text created_at:ts"),
]
_STATUSES = ["новый", "в работе", "успешно", "отказ", "закрыт"]
_CITIES_SQL = "ARRAY[" + ", ".join(f"'{c}'" for c in CITIES) + "]"
_KINDS: dict[str, tuple[str, str]] = {  # kind: SQL type, value for row g
    "ref": ("int", "1 + (random() * 999)::int"),
    "ts": ("timestamptz", "now() - random() * interval '400 days'"),
    "date": ("date", "current_date - (random() * 700)::int"),
    "money": ("numeric(18,2)", "round((random() * 2000000)::numeric, 2)"),
    "rate": ("numeric(8,4)", "round((random() * 20)::numeric, 4)"),
    "int": ("int", "(random() * 1000)::int"),
    "text": ("text", "'запись ' || g"),
    "code": ("text", "upper(substr(md5(g::text), 1, 10))"),
    "currency": ("char(3)", "(ARRAY['KZT','USD','EUR','RUB'])[1 + (random() * 3)::int]"),
    "system": ("text", "(ARRAY['VISA','MASTERCARD','UNIONPAY'])[1 + (random() * 2)::int]"),
    "city": ("text", f"({_CITIES_SQL})[1 + (random() * {len(CITIES) - 1})::int]"),
    "status": (
        "text",
        "(ARRAY[" + ", ".join(f"'{s}'" for s in _STATUSES) + f"])[1 + (random() * {len(_STATUSES) - 1})::int]",
    ),
}
_COLUMN_COMMENTS = {"created_at": "Дата и время создания записи", "amount": "Сумма в тенге", "status": "Статус записи"}


def other_tables_sql() -> str:
    """DDL, rows (40 to 200 a table) and Russian comments of the unrelated tables, in one script."""
    parts = ["SELECT setseed(0.31)"]
    for k, (table, comment, spec) in enumerate(OTHER_TABLES):
        columns = [c.split(":") for c in spec.split()]
        defs = ", ".join(f"{name} {_KINDS[kind][0]}" for name, kind in columns)
        parts.append(f"CREATE TABLE {table}(id bigint PRIMARY KEY, {defs})")
        names = ", ".join(name for name, _ in columns)
        values = ", ".join(_KINDS[kind][1] for _, kind in columns)
        parts.append(f"INSERT INTO {table}(id, {names}) SELECT g, {values} FROM generate_series(1, {40 + 2 * k}) g")
        parts.append(f"COMMENT ON TABLE {table} IS '{comment}'")
        parts += [
            f"COMMENT ON COLUMN {table}.{name} IS '{_COLUMN_COMMENTS[name]}'"
            for name, _ in columns
            if name in _COLUMN_COMMENTS
        ]
    return ";\n".join(parts)


def _choice(rng: np.random.Generator, options: list[tuple[str, float]], n: int) -> np.ndarray:
    return rng.choice(len(options), n, p=[p for _, p in options])


def load(target: psycopg.Connection | str) -> int:
    """Create and fill the payment tables, the view and the 80 unrelated tables in the (empty) database of
    ``target`` (a superuser connection, left uncommitted, or a libpq URL, committed); returns the number of
    payments."""
    if isinstance(target, str):
        with psycopg.connect(target) as conn:
            return load(conn)
    conn = target
    rng = np.random.default_rng(8_800)
    today = conn.execute("SELECT current_date").fetchone()[0]
    cur = conn.cursor()
    cur.execute(DDL)

    # shops: a brand of the category, on a street of the city; names unique
    cat_p = np.array([c[1] for c in CATEGORIES], float)
    s_cat = rng.choice(len(CATEGORIES), SHOPS, p=cat_p / cat_p.sum())
    s_city = rng.choice(len(CITIES), SHOPS, p=CITY_P)
    seen: set[str] = set()
    with cur.copy("COPY shops FROM STDIN") as cp:
        for i in range(SHOPS):
            category, _, brands = CATEGORIES[s_cat[i]]
            brand = brands[int(rng.integers(0, len(brands)))]
            street = f"{STREETS[int(rng.integers(0, len(STREETS)))]}, {int(rng.integers(1, 200))}"
            name = f"{brand}, {CITIES[s_city[i]]}, {street}"
            while name in seen:
                name += "А"
            seen.add(name)
            opened = dt.date(2010, 1, 1) + dt.timedelta(days=int(rng.integers(0, 5000)))
            cp.write_row((i + 1, name, CITIES[s_city[i]], category, street, opened))
    s_w = rng.gamma(0.9, 1.0, SHOPS)
    s_w /= s_w.sum()

    # clients: most pay in their home city
    c_city = rng.choice(len(CITIES), CLIENTS, p=CITY_P)
    c_seg = _choice(rng, SEGMENTS, CLIENTS)
    with cur.copy("COPY clients FROM STDIN") as cp:
        for i in range(CLIENTS):
            female = rng.random() < 0.5
            surname = SURNAMES[int(rng.integers(0, len(SURNAMES)))] + ("а" if female else "")
            born = dt.date(1955, 1, 1) + dt.timedelta(days=int(rng.integers(0, 17000)))
            phone = f"+7 7{int(rng.integers(0, 100)):02d} {int(rng.integers(1000000, 10000000))}"
            name = f"{surname} {NAMES[int(rng.integers(0, len(NAMES)))]}"
            cp.write_row((i + 1, name, CITIES[c_city[i]], SEGMENTS[c_seg[i]][0], born, phone))
    c_w = rng.gamma(1.5, 1.0, CLIENTS) * np.array([3.0 if SEGMENTS[s][0] == "премиум" else 1.0 for s in c_seg])
    c_w /= c_w.sum()
    c_system = _choice(rng, CARD_SYSTEMS, CLIENTS)
    c_mask = [f"{int(rng.integers(400000, 560000))}******{int(rng.integers(1000, 10000))}" for _ in range(CLIENTS)]

    secs = stamps(rng, *day_bounds(conn, DAYS - 1, 0, local=False), N)
    client = rng.choice(CLIENTS, N, p=c_w)
    shop = rng.choice(SHOPS, N, p=s_w)
    at_home = rng.random(N) < 0.8
    for city in range(len(CITIES)):  # four payments in five are made in the client's home city
        here = np.flatnonzero(s_city == city)
        who = np.flatnonzero(at_home & (c_city[client] == city))
        if len(here) and len(who):
            shop[who] = rng.choice(here, len(who), p=s_w[here] / s_w[here].sum())
    amount = np.round(rng.lognormal(8.5, 1.0, N), 2)
    status = _choice(rng, STATUS, N)
    channel = _choice(rng, CHANNELS, N)
    with cur.copy("COPY payments FROM STDIN") as cp:
        for k in range(N):
            c = int(client[k])
            cp.write_row(
                (
                    k + 1,
                    UTC_EPOCH + dt.timedelta(seconds=float(secs[k])),
                    f"{amount[k]:.2f}",
                    STATUS[status[k]][0],
                    int(shop[k]) + 1,
                    c + 1,
                    CHANNELS[channel[k]][0],
                    CARD_SYSTEMS[c_system[c]][0],
                    c_mask[c],
                )
            )
    cur.execute(other_tables_sql())
    same_day(conn, today)
    return N
