"""The language: Russian and English words and phrases -> concepts. A new word costs one entry here.

Each entry lists alternatives separated by "|"; an alternative is a phrase of one or more words, written in any
inflected form (they are lemmatised like the question). Concepts are ``(kind, value)`` pairs read by the parser.
Words for values are meanings ("отклоненные" -> status declined, "онлайн" -> channel online): which stored values
carry a meaning, and the names of a database's cities, categories and merchants, come from its semantic model
(``vocabulary.py``).
"""

from __future__ import annotations

from typing import NamedTuple


class Concept(NamedTuple):
    kind: str
    value: object = None


def _c(kind: str, value: object = None) -> Concept:
    return Concept(kind, value)


# Verbs of a payment happening: a city right after them is where it happened («расплачивались в Шымкенте»).
PAY_VERBS = frozenset(
    [
        "платить",
        "заплатить",
        "оплатить",
        "оплачивать",
        "расплачиваться",
        "расплатиться",
        "проходить",
        "пройти",
        "совершить",
        "совершать",
        "провести",
        "проводить",
        "покупать",
        "купить",
        "тратить",
        "потратить",
        "pay",
        "paid",
        "pays",
        "spend",
        "spent",
        "buy",
        "bought",
        "shop",
        "shopped",
    ]
)

# Verbs of money flowing somewhere: what follows names the part of a share ("comes from Almaty", «приходится на
# онлайн», "goes to Travel", «проходит через POS»).
FLOW_VERBS = frozenset(
    ["come", "comes", "came", "go", "goes", "went", "приходиться", "прийтись", "проходить", "пройти", "идти", "уходить"]
)

ENTRIES: tuple[tuple[str, Concept], ...] = (
    # --- what is counted or summed
    (
        "транзакция|трансакция|платеж|платежка|покупка|операция|оплата|транзакционный|transaction|payment|purchase|operation|"
        "txns|txn|trxs|транза|order|orders|заказ|"
        "txn|trx|sale|продажа|withdrawal",
        _c("entity", "transaction"),
    ),
    (
        "мерчант|магазин|продавец|торговый точка|торговец|компания|точка продаж|партнер|merchant|store|shop|seller|"
        "vendor|retailer|outlet|point of sale|company",
        _c("entity", "merchant"),
    ),
    (
        "клиент|покупатель|пользователь|держатель карты|картодержатель|плательщик|customer|client|user|buyer|"
        "spender|spenders|shopper|shoppers|"
        "cardholder|payer",
        _c("entity", "customer"),
    ),
    (
        "категория|категория mcc|mcc категория|mcc|мсс|категория мерчант|категория магазин|категория трат|"
        "категория торговля|категория точка|категория мсс|категория mcc кодов|shop category|store category|"
        "тип бизнес|отрасль|category|mcc category|merchant category|spending category|industry",
        _c("entity", "category"),
    ),
    ("код mcc|mcc код|mcc code|merchant category code", _c("entity", "mcc_code")),
    ("город|city|town|регион|region", _c("entity", "city")),
    (
        "город клиента|город покупателя|город проживания|customer city|city of customer|city of residence|"
        "client city|home city",
        _c("entity", "customer_city"),
    ),
    ("город мерчанта|город магазина|merchant city|city of merchant", _c("entity", "city")),
    ("валюта|currency", _c("entity", "currency")),
    ("канал|канал оплаты|channel|payment channel", _c("entity", "channel")),
    ("способ оплаты|метод оплаты|payment method|method of payment|payment type", _c("entity", "payment_method")),
    (
        "платежный система|карточный система|бренд карты|card brand|card scheme|payment system|scheme|card network",
        _c("entity", "card_brand"),
    ),
    ("тип карты|тип карт|вид карты|card type", _c("entity", "card_type")),
    ("карта|card|кошелек|wallet", _c("entity", "card")),
    ("статус|результат|status|outcome", _c("entity", "status")),
    ("сегмент|сегмент клиента|клиентский сегмент|segment|customer segment|client segment", _c("entity", "segment")),
    # --- measures
    ("количество|число|кол во|count|number|quantity", _c("measure", "count")),
    ("сколько|скока|скоко|сколко|how many", _c("how_many")),
    ("сколько раз|how many times|how often|как часто", _c("measure", "times")),  # always transactions
    ("how much|сколько денег", _c("how_much")),
    (
        "объем|обьем|оборот|выручка|доход|товарооборот|объем продаж|объем платежей|обороты|volume|turnover|"
        "revenue|gmv|tpv|sales volume|total spend|spending|total amount|sum",
        _c("measure", "volume"),
    ),
    ("сумма|amount|value|size", _c("measure", "amount")),
    ("деньги|потратить|тратить|трата|траты|заработать|money|spent|spend|earn|earned", _c("money")),
    (
        "средний|в среднем|средний чек|средний сумма|средний размер|average|avg|mean|average ticket|average check|"
        "average amount|average value|средний платеж",
        _c("measure", "avg"),
    ),
    ("чек|ticket|check", _c("measure", "ticket")),
    ("максимальный|максимум|макс|max|maximum", _c("sup", "max")),
    ("минимальный|минимум|мин|min|minimum", _c("sup", "min")),
    ("самый|наиболее|most|the most", _c("sup", "most")),
    ("самый мало|наименее|least|the least", _c("sup", "least")),
    (
        "крупный|большой|высокий|крупнейший|наибольший|наивысший|large|big|high|largest|biggest|highest|greatest|"
        "top grossing",
        _c("sup", "big"),
    ),
    ("маленький|мелкий|низкий|наименьший|малый|наинизший|small|low|smallest|lowest|tiny", _c("sup", "small")),
    ("больше всего|чаще всего|most often|most frequently|most of all", _c("sup", "many")),
    ("меньше всего|реже всего|fewest|least often|least of all", _c("sup", "few")),
    ("популярный|активный|востребованный|частый|popular|active|busy|frequent|busiest", _c("sup", "popular")),
    ("уникальный|различный|разный|distinct|unique|different|individual", _c("unique")),
    (
        "доля|процент|процентный доля|удельный вес|часть|какая часть|share|percentage|percent|proportion|ratio|rate|%|"
        "уровень|part|portion|fraction",
        _c("share"),
    ),
    (
        "конверсия|approval rate|одобряемость|процент одобрения|уровень одобрения",
        _c("share_of", ("status", "approved")),
    ),
    ("среди|из числа|among|out of|of all", _c("among")),
    (
        "почему|зачем|прогноз|прогнозировать|предсказать|упасть|вырасти|падение|why|forecast|predict|"
        "prediction|grow|grew|fall|fell|rise|rose",
        _c("unsupported", "causes and forecasts"),
    ),
    (
        "сравнить|сравнение|сравни|сопоставить|сопоставь|по сравнению с|против|отличаться|compare|comparison|versus|vs|"
        "differ|differs|"
        "compared to|compared with|against",
        _c("compare"),
    ),
    (
        "изменение|рост|прирост|динамика изменения|разница|change|changes|changed|growth|increase|decrease|"
        "difference|delta|wow|mom",
        _c("growth"),
    ),
    ("week over week|неделя к неделе", _c("growth", "week")),
    ("month over month|месяц к месяцу", _c("growth", "month")),
    ("day over day|день к дню", _c("growth", "day")),
    ("медиана|медианный|median", _c("measure", "median")),
    ("процентиль|перцентиль|percentile|квантиль|quantile|p", _c("percentile")),
    ("первый|самый ранний|first|earliest", _c("edge", "first")),
    ("когда|when|what time|в какое время|во сколько|time|timestamp|время", _c("when")),
    ("hour of the day|hour of day|час дня|час суток|часы дня|часам дня|hours of the day", _c("series", "hour")),
    ("стоить|стоимость|цена|price|cost|costs|курс|exchange rate", _c("unsupported", "prices and exchange rates")),
    (
        "утро|утренний|вечер|вечерний|ночь|ночной|morning|evening|night|afternoon|overnight",
        _c("unsupported", "parts of the day"),
    ),
    ("день недели|weekday|day of week|day of the week|по дням недели", _c("series", "weekday")),
    (
        "новый|зарегистрироваться|регистрация|registration|зарегистрировать|зарегистрированный|подключиться|подключенный|появиться|создать|new|registered|"
        "joined|onboarded|signed up|added|created",
        _c("new"),
    ),
    # --- breakdowns, order and limit
    (
        "по|by|per|в разрезе|с разбивкой по|разбивка по|разбить по|grouped by|broken down by|split by|breakdown by|"
        "for each|for every|в каждом|each|every|каждый|в зависимости от|across",
        _c("per"),
    ),
    ("топ|top|лидер|лидировать|лучший|best|leading|leader|lead|leads", _c("top")),
    (
        "рейтинг|ранжировать|отсортировать|упорядочить|по убыванию|в порядке убывания|от большего к меньшему|"
        "от большей к меньшей|ranking|rank|ranked|sorted|sort|descending|in descending order|high to low|"
        "highest to lowest|largest to smallest",
        _c("rank"),
    ),
    (
        "по возрастанию|в порядке возрастания|от меньшего к большему|от меньшей к большей|ascending|"
        "in ascending order|low to high|lowest to highest|smallest to largest",
        _c("rank", "asc"),
    ),
    ("другой|иной|остальной|прочий|other|others|rest of|remaining", _c("other")),
    ("худший|аутсайдер|bottom|worst", _c("bottom")),
    ("какой|который|which|what|кто|who", _c("which")),
    ("где|where", _c("where")),
    ("дневной|ежедневный|посуточный|daily|per day|по день|day by day", _c("series", "day")),
    ("недельный|еженедельный|понедельный|weekly|week by week", _c("series", "week")),
    ("месячный|ежемесячный|помесячный|monthly|month by month", _c("series", "month")),
    ("годовой|ежегодный|погодовой|yearly|annual|annually", _c("series", "year")),
    ("квартальный|поквартальный|ежеквартальный|quarterly", _c("series", "quarter")),
    ("часовой|почасовой|ежечасный|hourly|hour by hour|время суток|time of day", _c("series", "hour")),
    ("динамика|тренд|trend|dynamics|over time|история|history|timeline", _c("trend")),
    ("список|перечень|list", _c("list")),
    # --- time
    ("час|hour", _c("unit", "hour")),
    ("день|сутки|дата|day|date", _c("unit", "day")),
    ("неделя|week", _c("unit", "week")),
    ("месяц|month", _c("unit", "month")),
    ("квартал|quarter", _c("unit", "quarter")),
    ("год|year", _c("unit", "year")),
    ("полгода|полугодие|half a year|half year|six months", _c("span", (6, "month"))),
    ("сегодня|сегодняшний|за сегодня|today|today s|this day|so far today", _c("time", "today")),
    ("вчера|вчерашний|yesterday|yesterday s", _c("time", "yesterday")),
    ("позавчера|day before yesterday", _c("time", "day_before")),
    (
        "за все время|за всё время|за весь период|всего в база|в база|все время|all time|ever|in total|overall|"
        "of all time|in the database|in database|in the db",
        _c("time", "all"),
    ),
    ("последний|past|last|recent|latest|most recent|прошедший", _c("last", "rolling")),
    ("before|before that|до этого|перед этим|ранее", _c("before")),
    ("прошлый|предыдущий|previous|prior", _c("last", "previous")),
    (
        "этот|текущий|нынешний|this|current|с начало|since the start of|since the beginning of|from the start of|"
        "to date|so far this",
        _c("this"),
    ),
    ("mtd|month to date", _c("this_unit", "month")),
    ("ytd|year to date", _c("this_unit", "year")),
    ("январь|january|jan", _c("month", 1)),
    ("февраль|february|feb", _c("month", 2)),
    ("март|march|mar", _c("month", 3)),
    ("апрель|april|apr", _c("month", 4)),
    ("май|may", _c("month", 5)),
    ("июнь|june|jun", _c("month", 6)),
    ("июль|july|jul", _c("month", 7)),
    ("август|august|aug", _c("month", 8)),
    ("сентябрь|september|sep|sept", _c("month", 9)),
    ("октябрь|october|oct", _c("month", 10)),
    ("ноябрь|november|nov", _c("month", 11)),
    ("декабрь|december|dec", _c("month", 12)),
    # --- comparisons and connectives
    (
        "больше|более|свыше|выше|превышать|превышающий|крупнее|дороже|over|more than|above|greater than|exceeding|"
        "larger than|bigger than|higher than|in excess of|>",
        _c("cmp", "gt"),
    ),
    ("не менее|не меньше|как минимум|не ниже|at least|no less than|not less than|minimum of|>=", _c("cmp", "ge")),
    ("меньше|менее|ниже|дешевле|мельче|under|below|less than|smaller than|lower than|cheaper than|<", _c("cmp", "lt")),
    (
        "не более|не больше|не выше|не превышающий|at most|no more than|not more than|up to|maximum of|<=",
        _c("cmp", "le"),
    ),
    ("между|в диапазоне|в пределах|between|in the range", _c("cmp", "between")),
    ("ровно|равно|равный|exactly|equal to|=", _c("cmp", "eq")),
    ("от|с|начиная с|from|since|starting", _c("from")),
    ("до|to|until|till|through|-", _c("to")),
    ("и|and|а также|а|плюс|as well as", _c("and")),
    ("или|or", _c("or")),
    ("в|во|in|at|на|on|из|of", _c("in")),
    ("за|for|during|over|within|throughout", _c("for")),
    (
        "не|кроме|за исключением|исключая|без|без учета|не считая|ни одной|ни одного|никаких|ни разу|никогда|"
        "без единой|ни единой|ни единого|not|haven t|hasn t|didn t|don t|doesn t|wasn t|weren t|havent|hasnt|"
        "didnt|dont|doesnt|"
        "except|excluding|without|non|other than|no|none|never|apart from|besides",
        _c("not"),
    ),
    ("тенге|тг|kzt|tenge|₸", _c("value", ("currency", "KZT"))),
    ("доллар|usd|dollar|$|бакс", _c("value", ("currency", "USD"))),
    ("евро|eur|euro|€", _c("value", ("currency", "EUR"))),
    ("рубль|rub|ruble|rouble|₽", _c("value", ("currency", "RUB"))),
    # --- values of the low-cardinality columns
    (
        "одобренный|одобрить|успешный|успешно|approved|approval|successful|succeeded|success|authorized|"
        "authorised|completed|approve|одобрять|одобряться|проходить успешно|captured|settled|проведенный|проведен|"
        "исполненный",
        _c("value", ("status", "approved")),
    ),
    (
        "отклоненный|отклонить|неуспешный|неуспешно|отказ|отказной|отказать|неудачный|отклонение|declined|decline|"
        "failed|fail|failure|rejected|unsuccessful|denied|refused|отклонять|отклоняться|отказывать",
        _c("value", ("status", "declined")),
    ),
    (
        "отмененный|отменить|отмена|возврат|сторнированный|сторно|возвратный|reversed|reversal|refund|refunded|"
        "cancelled|canceled|chargeback|returned|отменять|отменяться|вернуть|возвращать",
        _c("value", ("status", "reversed")),
    ),
    (
        "pos|терминал|офлайн|оффлайн|offline|in store|in person|card present|pos терминал",
        _c("value", ("channel", "card_present")),
    ),
    (
        "ecom|e com|e commerce|ecommerce|онлайн|online|интернет|internet|электронный коммерция|интернет платеж|"
        "card not present",
        _c("value", ("channel", "online")),
    ),
    ("atm|банкомат|cash machine", _c("value", ("channel", "atm"))),
    ("сайт|website|web site|site|web|web checkout|через сайт", _c("value", ("channel", "web"))),
    ("app|in app|приложение|мобильный приложение|mobile app|через приложение", _c("value", ("channel", "app"))),
    ("qr|qr код|qr code|qr платеж|кьюар", _c("value", ("channel", "qr"))),
    ("visa|виза", _c("value", ("card_brand", "visa"))),
    (
        "mastercard|master card|мастеркард|мастеркарт|мастер кард|мастеркарда|mc",
        _c("value", ("card_brand", "mastercard")),
    ),
    ("unionpay|union pay|юнионпей|юнион пэй|upi|china unionpay", _c("value", ("card_brand", "unionpay"))),
    ("retail|розничный|розница|массовый|mass|масс сегмент", _c("value", ("segment", "retail"))),
    ("premium|премиальный|премиум|vip|affluent|премиальный клиент", _c("value", ("segment", "premium"))),
    ("business|бизнес|корпоративный|corporate|юрлицо|юридический лицо|sme", _c("value", ("segment", "business"))),
    # --- requests to change data: never answered
    (
        "удалить|удаление|стереть|очистить|изменить|обновить|вставить|добавить запись|перезаписать|"
        "delete|remove|drop|truncate|update|insert|alter|modify|grant|revoke|erase|wipe",
        _c("dml"),
    ),
    # --- words that carry no meaning here
    (
        "показать|покажи|вывести|выведи|дать|дай|найти|посчитать|подсчитать|рассчитать|определить|узнать|сказать|"
        "нужно|надо|хотеть|мочь|пожалуйста|быть|есть|весь|все|всего|итого|общий|суммарный|совокупный|итоговый|база|"
        "данные|таблица|информация|статистика|отчет|сводка|показатель|значение|цифра|у|о|об|про|для|мы|"
        "я|наш|мой|это|что|как|такой|там|тут|через|при|же|ли|бы|тот|нас|вам|их|его|ее|он|она|они|"
        "show|give|find|tell|calculate|compute|get|display|return|what s|whats|is|are|was|were|be|"
        "been|there|do|does|did|have|has|had|the|a|an|please|me|us|our|we|i|it|its|that|total|all|"
        "whole|data|database|table|stats|statistics|report|summary|breakdown|overview|figure|figures|distribution|"
        "распределение|структура|период|промежуток|period|time frame|timeframe|итог|полный|банк|bank|группировка|"
        "детализация|metric|metrics|kpi|"
        "in terms of|with|how|can|could|would|you|made|make|done|happen|happened|occur|occurred|processed|"
        "recorded|so|far|then|now|out|here|went|go|via|using|"
        "совершить|совершать|сделать|делать|провести|проводить|происходить|произойти|пройти|приходиться|прийтись|"
        "зафиксировать|поступить|осуществить|осуществлять|иметь|составить|составлять|"
        "проходить|оплатить|оплачивать|платить|заплатить|pay|paid|bought|buy|use|come|came|comes|take|took|taken|"
        "see|saw|seen|become|became|account|accounts|keep|kept|let|like|see|show me|look|приносить|"
        "составлять|занимать|держать|видеть|смотреть|посмотреть|интересовать|goes|go|gone|absolute|абсолютный|"
        "дают|давать|дать|single|одиночный|system|система|people|люди|народ|чё там|че там|чо там|что там|"
        "what about|how about|как там",
        _c("filler"),
    ),
)
