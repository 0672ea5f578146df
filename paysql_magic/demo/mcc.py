"""The demo's reference data: MCC codes with their categories, cities, and the merchant brands that use them."""

from __future__ import annotations

from typing import NamedTuple


class Mcc(NamedTuple):
    """One Merchant Category Code and the typical ticket size used to generate amounts."""

    code: int
    category: str
    description: str
    median_kzt: float  # median amount of one payment, in tenge
    spread: float  # sigma of the log-normal amount distribution


MCC_CODES: tuple[Mcc, ...] = (
    Mcc(5411, "Groceries", "Grocery Stores, Supermarkets", 7_000, 0.8),
    Mcc(5499, "Groceries", "Miscellaneous Food Stores – Convenience Stores and Specialty Markets", 2_500, 0.7),
    Mcc(5441, "Groceries", "Candy, Nut and Confectionery Stores", 4_000, 0.6),
    Mcc(5462, "Groceries", "Bakeries", 2_000, 0.5),
    Mcc(5812, "Restaurants", "Eating Places, Restaurants", 12_000, 0.6),
    Mcc(5813, "Restaurants", "Drinking Places (Alcoholic Beverages) – Bars, Taverns, Nightclubs", 9_000, 0.6),
    Mcc(5814, "Restaurants", "Fast Food Restaurants", 3_500, 0.5),
    Mcc(5541, "Fuel", "Service Stations (with or without Ancillary Services)", 12_000, 0.5),
    Mcc(5542, "Fuel", "Automated Fuel Dispensers", 10_000, 0.4),
    Mcc(4111, "Transport", "Local and Suburban Commuter Passenger Transportation, including Ferries", 250, 0.2),
    Mcc(4121, "Transport", "Taxicabs and Limousines", 2_200, 0.5),
    Mcc(7523, "Transport", "Parking Lots, Parking Meters and Garages", 500, 0.5),
    Mcc(4511, "Travel", "Airlines, Air Carriers", 90_000, 0.6),
    Mcc(4112, "Travel", "Passenger Railways", 18_000, 0.6),
    Mcc(7011, "Travel", "Lodging – Hotels, Motels, Resorts", 65_000, 0.6),
    Mcc(4722, "Travel", "Travel Agencies and Tour Operators", 250_000, 0.7),
    Mcc(5912, "Pharmacies", "Drug Stores and Pharmacies", 4_500, 0.8),
    Mcc(8011, "Healthcare", "Doctors and Physicians (Not Elsewhere Classified)", 15_000, 0.6),
    Mcc(8021, "Healthcare", "Dentists and Orthodontists", 25_000, 0.8),
    Mcc(5732, "Electronics", "Electronics Stores", 60_000, 1.0),
    Mcc(5722, "Electronics", "Household Appliance Stores", 120_000, 0.8),
    Mcc(5691, "Clothing", "Men's and Women's Clothing Stores", 22_000, 0.7),
    Mcc(5651, "Clothing", "Family Clothing Stores", 15_000, 0.7),
    Mcc(5661, "Clothing", "Shoe Stores", 25_000, 0.6),
    Mcc(5311, "Department stores", "Department Stores", 20_000, 0.9),
    Mcc(5331, "Department stores", "Variety Stores", 3_000, 0.6),
    Mcc(5399, "Marketplaces", "Miscellaneous General Merchandise", 12_000, 1.0),
    Mcc(4814, "Telecom", "Telecommunication Services", 4_000, 0.5),
    Mcc(4899, "Telecom", "Cable, Satellite and Other Pay Television and Radio Services", 6_000, 0.4),
    Mcc(4900, "Utilities", "Utilities – Electric, Gas, Water and Sanitary", 14_000, 0.6),
    Mcc(7832, "Entertainment", "Motion Picture Theaters", 4_500, 0.5),
    Mcc(7997, "Entertainment", "Membership Clubs (Sports, Recreation, Athletic), Country Clubs", 25_000, 0.6),
    Mcc(5815, "Entertainment", "Digital Goods Media – Books, Movies, Music", 2_500, 0.5),
    Mcc(5816, "Entertainment", "Digital Goods – Games", 6_000, 0.8),
    Mcc(6011, "Cash withdrawal", "Financial Institutions – Automated Cash Disbursements", 25_000, 0.9),
    Mcc(7230, "Beauty", "Beauty and Barber Shops", 8_000, 0.6),
    Mcc(5977, "Beauty", "Cosmetic Stores", 9_000, 0.7),
    Mcc(5200, "Home and garden", "Home Supply Warehouse Stores", 30_000, 1.0),
    Mcc(5712, "Home and garden", "Furniture, Home Furnishings and Equipment Stores, except Appliances", 90_000, 0.9),
    Mcc(8299, "Education", "Schools and Educational Services (Not Elsewhere Classified)", 20_000, 0.7),
    Mcc(5942, "Other retail", "Book Stores", 6_000, 0.6),
    Mcc(5992, "Other retail", "Florists", 12_000, 0.5),
    Mcc(5995, "Other retail", "Pet Shops, Pet Food and Supplies", 7_000, 0.6),
    Mcc(5999, "Other retail", "Miscellaneous and Specialty Retail Stores", 10_000, 0.9),
)

CASH_MCC = 6011
TRAVEL_CATEGORY = "Travel"

# Cities and their share of customers and of a chain's branches (Almaty and Astana the largest).
CITIES: tuple[tuple[str, float], ...] = (
    ("Almaty", 0.26),
    ("Astana", 0.20),
    ("Shymkent", 0.10),
    ("Karaganda", 0.07),
    ("Aktobe", 0.06),
    ("Taraz", 0.04),
    ("Pavlodar", 0.04),
    ("Oskemen", 0.04),
    ("Semey", 0.03),
    ("Atyrau", 0.04),
    ("Kostanay", 0.03),
    ("Kyzylorda", 0.03),
    ("Aktau", 0.03),
    ("Turkistan", 0.03),
)

# How a merchant is reached: a shop with a card terminal, an ATM, a national online service, or a city's bill payment.
STORE, ATM, ONLINE, BILL = "store", "atm", "online", "bill"


class Brand(NamedTuple):
    """A merchant brand: ``branches`` merchants are created from it (online brands have one, in ``cities[0]``)."""

    name: str
    mcc: int
    kind: str
    branches: int
    traffic: float  # relative number of payments per branch
    cities: tuple[str, ...] = ()  # fixed cities; empty: branches spread over CITIES by weight


_BIG4 = ("Almaty", "Astana", "Shymkent", "Karaganda")

BRANDS: tuple[Brand, ...] = (
    Brand("Magnum", 5411, STORE, 15, 10),
    Brand("Galmart", 5411, STORE, 4, 6),
    Brand("Anvar", 5411, STORE, 4, 5),
    Brand("Toimart", 5411, STORE, 4, 4),
    Brand("Metro Cash & Carry", 5411, STORE, 3, 5),
    Brand("Ramstore", 5411, STORE, 3, 4),
    Brand("Arbuz.kz", 5411, ONLINE, 1, 12, ("Almaty",)),
    Brand("Small", 5499, STORE, 13, 8),
    Brand("Tabys Market", 5499, STORE, 4, 4),
    Brand("Rakhat", 5441, STORE, 4, 3),
    Brand("Daily Bread Bakery", 5462, STORE, 3, 4),
    Brand("Navat", 5812, STORE, 3, 3),
    Brand("Del Papa", 5812, STORE, 3, 3),
    Brand("Rumi", 5812, STORE, 2, 2),
    Brand("Kishlak", 5812, STORE, 2, 2),
    Brand("Gakku", 5812, STORE, 2, 2),
    Brand("Line Brew", 5813, STORE, 3, 2),
    Brand("Beer House", 5813, STORE, 2, 2),
    Brand("Bahandi", 5814, STORE, 4, 5),
    Brand("KFC", 5814, STORE, 5, 5),
    Brand("Burger King", 5814, STORE, 3, 4),
    Brand("Salam Bro", 5814, STORE, 3, 4),
    Brand("Kaganat", 5814, STORE, 3, 4),
    Brand("Coffee Boom", 5814, STORE, 3, 4),
    Brand("Starbucks", 5814, STORE, 2, 3),
    Brand("Chocofood", 5814, ONLINE, 1, 15, ("Almaty",)),
    Brand("Wolt", 5814, ONLINE, 1, 15, ("Almaty",)),
    Brand("Helios", 5541, STORE, 4, 4),
    Brand("Sinooil", 5541, STORE, 4, 4),
    Brand("KazMunayGas", 5541, STORE, 5, 4),
    Brand("Gazprom Neft", 5541, STORE, 3, 3),
    Brand("Qazaq Oil", 5542, STORE, 3, 3),
    Brand("City Bus", 4111, STORE, 4, 15, _BIG4),
    Brand("Yandex Go", 4121, ONLINE, 1, 30, ("Almaty",)),
    Brand("inDrive", 4121, ONLINE, 1, 15, ("Almaty",)),
    Brand("City Parking", 7523, STORE, 2, 5, ("Almaty", "Astana")),
    Brand("Air Astana", 4511, ONLINE, 1, 4, ("Almaty",)),
    Brand("FlyArystan", 4511, ONLINE, 1, 5, ("Almaty",)),
    Brand("SCAT Airlines", 4511, ONLINE, 1, 2, ("Shymkent",)),
    Brand("KTZ Tickets", 4112, ONLINE, 1, 4, ("Astana",)),
    Brand("Rixos", 7011, STORE, 2, 0.5, ("Almaty", "Astana")),
    Brand("Hilton", 7011, STORE, 1, 0.5, ("Astana",)),
    Brand("Kazzhol Hotel", 7011, STORE, 2, 0.5),
    Brand("Aviata.kz", 4722, ONLINE, 1, 2, ("Almaty",)),
    Brand("Kompas Tour", 4722, STORE, 1, 0.5, ("Almaty",)),
    Brand("Europharma", 5912, STORE, 8, 4),
    Brand("Biosfera", 5912, STORE, 4, 3),
    Brand("Sadykhan", 5912, STORE, 4, 3),
    Brand("Zhanat", 5912, STORE, 3, 3),
    Brand("Interteach Clinic", 8011, STORE, 2, 1),
    Brand("Medical Park", 8011, STORE, 1, 1),
    Brand("Nur Dental", 8021, STORE, 3, 1),
    Brand("Sulpak", 5732, STORE, 7, 2),
    Brand("Technodom", 5732, STORE, 7, 2),
    Brand("Mechta", 5732, STORE, 5, 2),
    Brand("Alser", 5732, STORE, 3, 1.5),
    Brand("Arena S", 5722, STORE, 2, 1),
    Brand("LC Waikiki", 5691, STORE, 4, 2),
    Brand("Zara", 5691, STORE, 2, 2, ("Almaty", "Astana")),
    Brand("DeFacto", 5691, STORE, 3, 2),
    Brand("Colin's", 5691, STORE, 2, 1.5),
    Brand("Ostin", 5651, STORE, 3, 2),
    Brand("Gloria Jeans", 5651, STORE, 2, 1.5),
    Brand("Kari", 5661, STORE, 3, 1.5),
    Brand("Ecco", 5661, STORE, 1, 1, ("Almaty",)),
    Brand("TSUM", 5311, STORE, 1, 4, ("Almaty",)),
    Brand("Fix Price", 5331, STORE, 6, 4),
    Brand("Kaspi Magazin", 5399, ONLINE, 1, 60, ("Almaty",)),
    Brand("Wildberries", 5399, ONLINE, 1, 25, ("Almaty",)),
    Brand("Ozon", 5399, ONLINE, 1, 12, ("Almaty",)),
    Brand("Halyk Market", 5399, ONLINE, 1, 6, ("Almaty",)),
    Brand("Beeline", 4814, ONLINE, 1, 15, ("Almaty",)),
    Brand("Kcell", 4814, ONLINE, 1, 15, ("Almaty",)),
    Brand("Tele2", 4814, ONLINE, 1, 10, ("Astana",)),
    Brand("Kazakhtelecom", 4899, ONLINE, 1, 6, ("Astana",)),
    Brand("Alma TV", 4899, ONLINE, 1, 3, ("Almaty",)),
    Brand("Alseco", 4900, BILL, 6, 4, (*_BIG4, "Aktobe", "Pavlodar")),
    Brand("Almaty Energo Sbyt", 4900, BILL, 1, 4, ("Almaty",)),
    Brand("Astana-ERC", 4900, BILL, 1, 4, ("Astana",)),
    Brand("Kinopark", 7832, STORE, 4, 2),
    Brand("Chaplin Cinemas", 7832, STORE, 2, 2, ("Almaty", "Astana")),
    Brand("World Class", 7997, STORE, 2, 1, ("Almaty", "Astana")),
    Brand("Invictus Fitness", 7997, STORE, 3, 1),
    Brand("Yandex Plus", 5815, ONLINE, 1, 8, ("Almaty",)),
    Brand("Netflix", 5815, ONLINE, 1, 4, ("Almaty",)),
    Brand("Steam", 5816, ONLINE, 1, 4, ("Almaty",)),
    Brand("PlayStation Store", 5816, ONLINE, 1, 2, ("Almaty",)),
    Brand("Halyk Bank ATM", 6011, ATM, 8, 3),
    Brand("Kaspi Bank ATM", 6011, ATM, 6, 3),
    Brand("Forte Bank ATM", 6011, ATM, 3, 2),
    Brand("Jusan Bank ATM", 6011, ATM, 3, 2),
    Brand("Bank CenterCredit ATM", 6011, ATM, 3, 2),
    Brand("Chop-Chop Barbershop", 7230, STORE, 3, 1),
    Brand("Beauty Bar", 7230, STORE, 2, 1),
    Brand("Letoile", 5977, STORE, 3, 1.5),
    Brand("Yves Rocher", 5977, STORE, 2, 1),
    Brand("Leroy Merlin", 5200, STORE, 2, 2, ("Almaty", "Astana")),
    Brand("Stroymart", 5200, STORE, 2, 1.5),
    Brand("Lazurit", 5712, STORE, 2, 0.5),
    Brand("Skyeng", 8299, ONLINE, 1, 2, ("Almaty",)),
    Brand("Lingua School", 8299, STORE, 2, 0.5),
    Brand("Meloman", 5942, STORE, 4, 1.5),
    Brand("Flowers KZ", 5992, STORE, 2, 1),
    Brand("Zoomir", 5995, STORE, 2, 1),
    Brand("Marwin", 5999, STORE, 3, 1.5),
    Brand("Flip.kz", 5999, ONLINE, 1, 4, ("Almaty",)),
)
