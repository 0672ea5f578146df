"""Company "bazar": a marketplace that accepts its buyers' payments itself, with **Russian identifiers** (Cyrillic,
double-quoted in the SQL) in schema ``торговля`` (on the database's search_path) and schema ``склад`` beside it.

Shape: ``"платежи"`` (``"ид"``, ``"дата_время"`` timestamp **without** time zone holding local time, ``"сумма"``
numeric tenge with ``"комиссия"`` beside it, Russian status words ``проведен`` / ``отклонен`` / ``возврат`` /
``в обработке``, ``"канал"``, ``"способ_оплаты"``, and ``"город"``: the city of the payment itself, the buyer's
delivery city, on the fact table); every payment pays an order of ``"заказы"`` (which has a ``"сумма"``,
``"статус"`` and ``"дата_создания"`` of its own and holds unpaid orders too); ``"продавцы"`` (``"название"``,
registered ``"город"``, ``"категория"``); ``"покупатели"`` (personal data, home ``"город"``); a **materialized
view** ``"витрина_продаж"`` of successful payments by day and category; unrelated ``"выплаты_продавцам"`` and
``"отзывы"``, and schema ``склад`` (``"остатки"``, ``"поставки"``). Conventions: ``bazar.md``.

Data are fixed-seed relative to the calendar day of the build: N payments over the last DAYS calendar days (local
time), today included up to the moment of the build, about N/DAYS a day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import psycopg
from psycopg import sql

from . import LOCAL_EPOCH, day_bounds, same_day, stamps

SCHEMAS: tuple[str, ...] = ("торговля", "склад")
FACT_TABLE = "торговля.платежи"
DAYS = 120
N = 20_000
SELLERS = 320
BUYERS = 6_500
UNPAID = 2_500  # orders never paid

CITIES = ["Алматы", "Астана", "Шымкент", "Караганда", "Актобе", "Тараз", "Павлодар", "Усть-Каменогорск", "Семей"]
CITIES += ["Атырау", "Костанай", "Кызылорда", "Уральск"]
BUYER_CITY_P = [0.25, 0.18, 0.11, 0.08, 0.06, 0.05, 0.04, 0.05, 0.04, 0.04, 0.04, 0.03, 0.03]
SELLER_CITY_P = [0.45, 0.25, 0.1, 0.05, 0.03, 0.02, 0.02, 0.02, 0.01, 0.02, 0.01, 0.01, 0.01]
CATEGORIES = [  # category, weight, median check in tenge, shop words
    ("Электроника", 10, 45_000, ["Гаджет", "Смарт", "Техно"]),
    ("Бытовая техника", 6, 70_000, ["Дом Техники", "Белый ветер", "Холод"]),
    ("Одежда и обувь", 14, 12_000, ["Стиль", "Мода", "Шуз"]),
    ("Красота и здоровье", 10, 6_500, ["Бьюти", "Аптека", "Косметик"]),
    ("Дом и сад", 9, 9_000, ["Уют", "Сад", "Интерьер"]),
    ("Детские товары", 8, 8_500, ["Малыш", "Детки", "Игрушки"]),
    ("Продукты", 12, 5_000, ["Базар", "Фермер", "Вкусно"]),
    ("Автотовары", 5, 15_000, ["Авто", "Шины", "Мотор"]),
    ("Спорт и отдых", 5, 14_000, ["Спорт", "Турист", "Фитнес"]),
    ("Книги", 3, 4_000, ["Книжный", "Читай", "Буква"]),
]
STATUS = [("проведен", 0.885), ("отклонен", 0.075), ("возврат", 0.03), ("в обработке", 0.01)]
CHANNELS = [("приложение", 0.64), ("сайт", 0.3), ("пункт выдачи", 0.06)]
METHODS = [("карта", 0.64), ("рассрочка", 0.2), ("кредит", 0.06), ("бонусы", 0.04), ("QR", 0.06)]
NAMES = ["Арман", "Айгерим", "Данияр", "Ольга", "Ержан", "Асель", "Тимур", "Динара", "Сергей", "Мадина", "Нурлан"]
SURNAMES = ["Ахметов", "Сериков", "Ким", "Нурланов", "Иванов", "Омаров", "Касымов", "Тен", "Жумабеков", "Ли"]

DDL = """
CREATE SCHEMA "торговля";
COMMENT ON SCHEMA "торговля" IS 'Маркетплейс: продавцы, покупатели, заказы и платежи';
CREATE TABLE "торговля"."продавцы"("ид" int PRIMARY KEY, "название" text NOT NULL, "бин" char(12) NOT NULL,
  "город" text NOT NULL, "категория" text NOT NULL, "дата_регистрации" date NOT NULL, "активен" boolean NOT NULL,
  "рейтинг" numeric(2,1));
COMMENT ON TABLE "торговля"."продавцы" IS 'Продавцы маркетплейса';
COMMENT ON COLUMN "торговля"."продавцы"."город" IS 'Город регистрации продавца';
COMMENT ON COLUMN "торговля"."продавцы"."категория" IS 'Основная категория товаров продавца';
CREATE TABLE "торговля"."покупатели"("ид" bigint PRIMARY KEY, "имя" text NOT NULL, "телефон" text NOT NULL,
  "email" text, "город" text, "дата_регистрации" date NOT NULL);
COMMENT ON TABLE "торговля"."покупатели" IS 'Покупатели (персональные данные)';
COMMENT ON COLUMN "торговля"."покупатели"."город" IS 'Город, указанный в профиле';
CREATE TABLE "торговля"."заказы"("ид" bigint PRIMARY KEY, "дата_создания" timestamp NOT NULL,
  "ид_покупателя" bigint NOT NULL REFERENCES "торговля"."покупатели",
  "ид_продавца" int NOT NULL REFERENCES "торговля"."продавцы", "сумма" numeric(14,2) NOT NULL,
  "количество_товаров" int NOT NULL, "статус" text NOT NULL, "город_доставки" text NOT NULL);
COMMENT ON TABLE "торговля"."заказы" IS 'Заказы покупателей (оплаченные и нет)';
COMMENT ON COLUMN "торговля"."заказы"."статус" IS 'оформлен, оплачен, доставлен, отменен';
CREATE TABLE "торговля"."платежи"("ид" bigint PRIMARY KEY, "дата_время" timestamp NOT NULL,
  "ид_заказа" bigint NOT NULL REFERENCES "торговля"."заказы",
  "ид_продавца" int NOT NULL REFERENCES "торговля"."продавцы",
  "ид_покупателя" bigint NOT NULL REFERENCES "торговля"."покупатели",
  "сумма" numeric(14,2) NOT NULL, "комиссия" numeric(12,2) NOT NULL, "статус" text NOT NULL, "канал" text NOT NULL,
  "способ_оплаты" text NOT NULL, "город" text NOT NULL, "код_ответа" char(2));
COMMENT ON TABLE "торговля"."платежи" IS 'Платежи покупателей за заказы';
COMMENT ON COLUMN "торговля"."платежи"."дата_время" IS 'Дата и время платежа (время Алматы)';
COMMENT ON COLUMN "торговля"."платежи"."сумма" IS 'Сумма платежа, тенге';
COMMENT ON COLUMN "торговля"."платежи"."комиссия" IS 'Комиссия маркетплейса с продавца, тенге';
COMMENT ON COLUMN "торговля"."платежи"."статус" IS 'проведен, отклонен, возврат, в обработке';
COMMENT ON COLUMN "торговля"."платежи"."канал" IS 'приложение, сайт, пункт выдачи';
COMMENT ON COLUMN "торговля"."платежи"."город" IS 'Город, где совершён платёж (город доставки заказа)';
CREATE INDEX ON "торговля"."платежи"("дата_время");
CREATE INDEX ON "торговля"."платежи"("ид_продавца");
CREATE TABLE "торговля"."выплаты_продавцам"("ид" bigint PRIMARY KEY,
  "ид_продавца" int NOT NULL REFERENCES "торговля"."продавцы", "дата_время" timestamp NOT NULL,
  "сумма" numeric(14,2) NOT NULL, "статус" text NOT NULL);
COMMENT ON TABLE "торговля"."выплаты_продавцам" IS 'Выплаты продавцам за проданные товары';
CREATE TABLE "торговля"."отзывы"("ид" bigint PRIMARY KEY, "ид_заказа" bigint NOT NULL REFERENCES "торговля"."заказы",
  "дата_время" timestamp NOT NULL, "оценка" smallint NOT NULL, "текст" text);
COMMENT ON TABLE "торговля"."отзывы" IS 'Отзывы покупателей о заказах';

CREATE SCHEMA "склад";
COMMENT ON SCHEMA "склад" IS 'Склад фулфилмента';
CREATE TABLE "склад"."поставки"("ид" bigint PRIMARY KEY, "поставщик" text NOT NULL, "дата_время" timestamp NOT NULL,
  "сумма" numeric(14,2) NOT NULL, "статус" text NOT NULL);
COMMENT ON TABLE "склад"."поставки" IS 'Поставки товаров на склад';
CREATE TABLE "склад"."остатки"("артикул" text PRIMARY KEY, "ид_продавца" int NOT NULL, "количество" int NOT NULL,
  "обновлено" timestamp NOT NULL);
COMMENT ON TABLE "склад"."остатки" IS 'Остатки товаров на складе';
"""

MATVIEW = """
CREATE MATERIALIZED VIEW "торговля"."витрина_продаж" AS
  SELECT p."дата_время"::date AS "день", s."категория", count(*) AS "платежей", sum(p."сумма") AS "оборот"
  FROM "торговля"."платежи" p JOIN "торговля"."продавцы" s ON s."ид" = p."ид_продавца"
  WHERE p."статус" = 'проведен' GROUP BY 1, 2;
COMMENT ON MATERIALIZED VIEW "торговля"."витрина_продаж"
  IS 'Проведённые платежи по дням и категориям (обновляется ночью)';
"""


def _pick(rng: np.random.Generator, items: list) -> object:
    return items[int(rng.integers(0, len(items)))]


def _at(seconds: float) -> dt.datetime:
    return LOCAL_EPOCH + dt.timedelta(seconds=float(seconds))


def _choice(rng: np.random.Generator, options: list[tuple[str, float]], n: int) -> np.ndarray:
    return rng.choice(len(options), n, p=[o[1] for o in options])


def load(target: psycopg.Connection | str) -> int:
    """Create and fill schemas ``торговля`` and ``склад`` in the (empty) database of ``target`` (a superuser
    connection, left uncommitted, or a libpq URL, committed), with ``торговля`` first on the database's
    search_path; returns the number of payments."""
    if isinstance(target, str):
        with psycopg.connect(target) as conn:
            return load(conn)
    conn = target
    rng = np.random.default_rng(2_024)
    today = conn.execute("SELECT current_date").fetchone()[0]
    database = conn.execute("SELECT current_database()").fetchone()[0]
    cur = conn.cursor()
    cur.execute(DDL)
    cur.execute(
        sql.SQL("ALTER DATABASE {} SET search_path = {}, public").format(
            sql.Identifier(database), sql.Identifier("торговля")
        )
    )

    # sellers: a category each, mostly registered in Almaty and Astana
    cat_p = np.array([c[1] for c in CATEGORIES], float)
    cat_p /= cat_p.sum()
    sellers: list[tuple[str, int]] = []  # name, category index
    seen: set[str] = set()
    while len(sellers) < SELLERS:
        k = int(rng.choice(len(CATEGORIES), p=cat_p))
        if rng.random() < 0.55:
            name = f"ТОО «{_pick(rng, CATEGORIES[k][3])} {_pick(rng, ['KZ', 'Маркет', 'Плюс', 'Центр', 'Опт', 'Мир'])}»"
        else:
            name = f"ИП {_pick(rng, SURNAMES)} {_pick(rng, list('АБДЕКМНОРСТ'))}.{_pick(rng, list('АБГЕКМНРСТ'))}."
        if name not in seen:
            seen.add(name)
            sellers.append((name, k))
    with cur.copy('COPY "торговля"."продавцы" FROM STDIN') as cp:
        for i, (name, k) in enumerate(sellers):
            cp.write_row(
                (
                    i + 1,
                    name,
                    "".join(map(str, rng.integers(0, 10, 12))),
                    CITIES[int(rng.choice(len(CITIES), p=SELLER_CITY_P))],
                    CATEGORIES[k][0],
                    today - dt.timedelta(days=int(rng.integers(150, 2000))),
                    rng.random() < 0.96,
                    round(3.5 + 1.5 * float(rng.random()), 1),
                )
            )
    seller_w = rng.gamma(0.7, 1.0, SELLERS) * np.array([cat_p[s[1]] for s in sellers])
    seller_w /= seller_w.sum()

    # buyers, each with a home city (where their orders are mostly delivered)
    buyer_city = rng.choice(len(CITIES), BUYERS, p=BUYER_CITY_P)
    with cur.copy('COPY "торговля"."покупатели" FROM STDIN') as cp:
        for i in range(BUYERS):
            female = rng.random() < 0.5
            surname = _pick(rng, SURNAMES)
            surname = surname + "а" if female and surname.endswith("ов") else surname
            cp.write_row(
                (
                    i + 1,
                    f"{_pick(rng, NAMES)} {surname}",
                    f"+7 7{int(rng.integers(0, 100)):02d} {int(rng.integers(0, 10**7)):07d}",
                    None if rng.random() < 0.3 else f"buyer{i + 1}@mail.kz",
                    None if rng.random() < 0.1 else CITIES[buyer_city[i]],
                    today - dt.timedelta(days=int(rng.integers(130, 1500))),
                )
            )
    buyer_w = rng.gamma(1.3, 1.0, BUYERS)
    buyer_w /= buyer_w.sum()

    # payments (local time) and the orders they pay; then unpaid orders
    secs = stamps(rng, *day_bounds(conn, DAYS - 1, 0, local=True), N)
    seller = rng.choice(SELLERS, N, p=seller_w)
    buyer = rng.choice(BUYERS, N, p=buyer_w)
    elsewhere = rng.random(N) < 0.1
    other_city = rng.choice(len(CITIES), N, p=BUYER_CITY_P)
    status = _choice(rng, STATUS, N)
    status[(status == 3) & (secs < secs[-1] - 2 * 86400)] = 0  # only recent payments are still in processing
    channel = _choice(rng, CHANNELS, N)
    method = _choice(rng, METHODS, N)
    spread = rng.lognormal(0.0, 0.8, N)
    lead = rng.integers(30, 1800, N)  # seconds from the order to its payment
    payment_rows, order_rows = [], []
    for k in range(N):
        median = CATEGORIES[sellers[seller[k]][1]][2]
        amount = round(max(300.0, median * spread[k]), -1 if median < 10_000 else -2)
        city = CITIES[other_city[k] if elsewhere[k] else buyer_city[buyer[k]]]
        st = STATUS[status[k]][0]
        order_status = {"проведен": "доставлен", "отклонен": "отменен", "возврат": "отменен"}.get(st, "оформлен")
        if st == "проведен" and secs[k] > secs[-1] - 3 * 86400:
            order_status = "оплачен"
        order_rows.append(
            (k + 1, _at(secs[k] - lead[k]), int(buyer[k]) + 1, int(seller[k]) + 1, amount, int(rng.integers(1, 6)))
        )
        order_rows[-1] += (order_status, city)
        payment_rows.append(
            (
                k + 1,
                _at(secs[k]),
                k + 1,
                int(seller[k]) + 1,
                int(buyer[k]) + 1,
                amount,
                0 if st == "отклонен" else round(amount * 0.08, 2),
                st,
                CHANNELS[channel[k]][0],
                METHODS[method[k]][0],
                city,
                _pick(rng, ["51", "05", "61", "54"]) if st == "отклонен" else "00",
            )
        )
    past = day_bounds(conn, DAYS - 1, 1, local=True)[0]
    for j in range(UNPAID):
        k = int(rng.integers(0, N))
        created = _at(past[int(rng.integers(0, len(past)))] + rng.random() * 86400)
        order_rows.append((N + j + 1, created, int(buyer[k]) + 1, int(seller[k]) + 1, payment_rows[k][5], 1))
        order_rows[-1] += (_pick(rng, ["отменен", "отменен", "оформлен"]), payment_rows[k][10])
    with cur.copy('COPY "торговля"."заказы" FROM STDIN') as cp:
        for row in order_rows:
            cp.write_row(row)
    with cur.copy('COPY "торговля"."платежи" FROM STDIN') as cp:
        for row in payment_rows:
            cp.write_row(row)

    # unrelated: payouts to sellers, reviews, the warehouse
    with cur.copy('COPY "торговля"."выплаты_продавцам" FROM STDIN') as cp:
        n = 0
        for start in past[::7]:
            for s in range(SELLERS):
                n += 1
                st = _pick(rng, ["выплачено"] * 18 + ["ожидает", "ошибка"])
                cp.write_row((n, s + 1, _at(start + 10 * 3600), round(float(rng.lognormal(12, 1)), 2), st))
    with cur.copy('COPY "торговля"."отзывы" FROM STDIN') as cp:
        for n, k in enumerate(rng.choice(N, 3_000, replace=False)):
            grade = int(rng.choice(5, p=[0.05, 0.05, 0.1, 0.3, 0.5])) + 1
            text = _pick(rng, [None, "Всё отлично", "Доставка задержалась", "Товар не соответствует описанию"])
            cp.write_row((n + 1, int(k) + 1, _at(secs[k] + 5 * 86400), grade, text))
    with cur.copy('COPY "склад"."поставки" FROM STDIN') as cp:
        for n, start in enumerate(past):
            status_word = _pick(rng, ["принята", "принята", "в пути", "отклонена"])
            cp.write_row(
                (n + 1, f"ТОО «Поставщик {n % 17 + 1}»", _at(start + 9 * 3600), 10_000 * (n + 50), status_word)
            )
    with cur.copy('COPY "склад"."остатки" FROM STDIN') as cp:
        for n in range(1_000):
            cp.write_row((f"SKU-{n:05d}", int(rng.integers(1, SELLERS + 1)), int(rng.integers(0, 500)), _at(past[-1])))
    cur.execute(MATVIEW)
    same_day(conn, today)
    return N
