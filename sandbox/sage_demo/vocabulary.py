"""Fixed vocabulary of the demo company: lookups, names, reps, product families."""

from __future__ import annotations

# The CRM assigns accounts by rep full name (SALES_LEDGER.ANALYSIS_2, caption "Resp. Rep").
# The SSM sandbox seeds users for the first three; Daniel Evans is deliberately unmatched.
SALES_REPS: tuple[str, ...] = ("Alice Carter", "Ben Hughes", "Chloe Patel", "Daniel Evans")
NO_REP_SHARE = 0.15

USER_NAME = "MANAGER"

# (NUMBER, CODE, SYMBOL, NAME, EMU_MEMBER, BASE_CURRENCY, RATE, major, minor)
# RATE is units of the currency per 1 GBP, as Sage stores it.
CURRENCIES: tuple[tuple[int, str, str, str, int, int, float, str, str], ...] = (
    (1, "GBP", "£", "Pound Sterling", 0, 1, 1.0, "Pounds", "Pence"),
    (2, "EUR", "€", "Euro", 1, 0, 1.17, "Euros", "Cents"),
    (3, "USD", "$", "US Dollar", 0, 0, 1.27, "Dollars", "Cents"),
)
GBP, EUR, USD = 1, 2, 3
RATE = {c[0]: c[6] for c in CURRENCIES}

# (CODE, NAME, EU_MEMBER, account currency of customers there)
COUNTRIES: tuple[tuple[str, str, int, int], ...] = (
    ("GB", "United Kingdom", 0, GBP),
    ("XI", "Northern Ireland", 1, GBP),
    ("IE", "Ireland", 1, EUR),
    ("FR", "France", 1, EUR),
    ("DE", "Germany", 1, EUR),
    ("NL", "Netherlands", 1, EUR),
    ("BE", "Belgium", 1, EUR),
    ("ES", "Spain", 1, EUR),
    ("IT", "Italy", 1, EUR),
    ("US", "United States", 0, USD),
    ("CH", "Switzerland", 0, GBP),
    ("NO", "Norway", 0, GBP),
)
EC_COUNTRIES = frozenset(c[0] for c in COUNTRIES if c[2])

# (TAX_CODE, TAX_CODE_ID, DESCRIPTION, TAX_RATE, EURO_SALES, EURO_PURCHASE)
TAX_CODES: tuple[tuple[str, int, str, float, int, int], ...] = (
    ("T0", 0, "Zero rated", 0.0, 0, 0),
    ("T1", 1, "Standard rate", 20.0, 0, 0),
    ("T2", 2, "Exempt", 0.0, 0, 0),
    ("T3", 3, "Not used", 0.0, 0, 0),
    ("T4", 4, "Sales to customers in EC", 0.0, 1, 0),
    ("T5", 5, "Lower rate", 5.0, 0, 0),
    ("T6", 6, "Zero rated imports (postponed VAT)", 0.0, 0, 0),
    ("T7", 7, "Zero rated purchases from EC", 0.0, 0, 1),
    ("T8", 8, "Standard rated purchases from EC", 20.0, 0, 1),
    ("T9", 9, "Outside the scope of VAT", 0.0, 0, 0),
)
TAX_RATE = {t[0]: t[3] for t in TAX_CODES}
TAX_ID = {t[0]: t[1] for t in TAX_CODES}

DEPARTMENTS: tuple[tuple[int, str, str], ...] = (
    (0, "Default", "DEFAULT"),
    (1, "Trade Sales", "TRADE"),
    (2, "Service & Repairs", "SERVICE"),
    (3, "Export", "EXPORT"),
)
DEPT_NAME = {d[0]: d[1] for d in DEPARTMENTS}

# Stock categories: (NUMBER, NAME, stock-code prefix, unit, price range in pence, VAT code)
STOCK_CATEGORIES: tuple[tuple[int, str, str, str, tuple[int, int], str], ...] = (
    (1, "Paper & Envelopes", "PAPER", "Box", (299, 4999), "T1"),
    (2, "Office Furniture", "FURN", "Each", (4999, 89999), "T1"),
    (3, "Computers", "PC", "Each", (29999, 249999), "T1"),
    (4, "Printers & Ink", "PRINT", "Each", (999, 59999), "T1"),
    (5, "Software", "SOFT", "Licence", (1999, 99999), "T1"),
    (6, "Stationery", "STAT", "Pack", (99, 2499), "T1"),
    (7, "Books & Manuals", "BOOK", "Each", (499, 8999), "T0"),
    (8, "Safety Equipment", "SAFE", "Each", (499, 29999), "T5"),
    (9, "Services", "SERV", "Hour", (3500, 12000), "T1"),
    (10, "Delivery & Handling", "CARR", "Each", (500, 2500), "T1"),
)
SERVICE_CATEGORY = 9
NON_STOCK_CATEGORY = 10

PRODUCT_NOUNS: dict[int, tuple[str, ...]] = {
    1: ("A4 Copier Paper", "A3 Laser Paper", "C5 Envelopes", "DL Envelopes", "Photo Paper"),
    2: ("Operator Chair", "Desk 1600mm", "Filing Cabinet", "Bookcase", "Meeting Table"),
    3: ("Laptop 14in", "Desktop PC", "Monitor 27in", "Docking Station", "Tablet 11in"),
    4: ("Laser Printer", "Inkjet Printer", "Toner Cartridge", "Ink Cartridge", "Drum Unit"),
    5: ("Office Suite", "Antivirus", "Accounts Software", "Design Suite", "Backup Software"),
    6: ("Ballpoint Pens", "Highlighters", "Sticky Notes", "Lever Arch File", "Stapler"),
    7: ("User Guide", "Training Manual", "Reference Book", "Pocket Guide", "Workbook"),
    8: ("Hi-Vis Vest", "Safety Goggles", "First Aid Kit", "Ear Defenders", "Hard Hat"),
    9: ("On-site Support", "Installation", "Remote Support", "Training Day", "Health Check"),
    10: ("Next Day Delivery", "Pallet Delivery", "Handling Charge", "Packaging", "Timed Delivery"),
}
PRODUCT_ADJECTIVES: tuple[str, ...] = (
    "Premium",
    "Standard",
    "Economy",
    "Pro",
    "Compact",
    "Deluxe",
    "Eco",
    "Heavy Duty",
    "Classic",
    "Plus",
)

NAME_FIRST: tuple[str, ...] = (
    "Abbey",
    "Acorn",
    "Albion",
    "Anchor",
    "Apex",
    "Arden",
    "Ashford",
    "Atlas",
    "Beacon",
    "Birch",
    "Bridge",
    "Bristol",
    "Castle",
    "Cedar",
    "Chiltern",
    "Clarke",
    "Compass",
    "Cotswold",
    "Crown",
    "Delta",
    "Dove",
    "Eagle",
    "Elm",
    "Falcon",
    "Fenwick",
    "Forge",
    "Granite",
    "Harbour",
    "Hawthorn",
    "Highland",
    "Kestrel",
    "Kingfisher",
    "Lakeside",
    "Linden",
    "Maple",
    "Mercia",
    "Meridian",
    "Northgate",
    "Oak",
    "Orchard",
    "Pennine",
    "Phoenix",
    "Quay",
    "Regent",
    "Riverside",
    "Severn",
    "Sterling",
    "Thames",
    "Trent",
    "Vale",
    "Victoria",
    "Wessex",
    "Willow",
    "Windsor",
    "York",
)
NAME_SECOND: tuple[str, ...] = (
    "Engineering",
    "Supplies",
    "Logistics",
    "Dental Care",
    "Builders",
    "Print",
    "Consulting",
    "Motors",
    "Foods",
    "Electrical",
    "Joinery",
    "Solicitors",
    "Accountants",
    "Veterinary",
    "Hotels",
    "Plastics",
    "Textiles",
    "Media",
    "Healthcare",
    "Systems",
)
NAME_SUFFIX: tuple[str, ...] = ("Ltd", "Ltd", "Ltd", "plc", "LLP", "& Co", "Group")
FOREIGN_SUFFIX: dict[str, tuple[str, ...]] = {
    "IE": ("Ltd", "DAC"),
    "FR": ("SARL", "SAS"),
    "DE": ("GmbH", "AG"),
    "NL": ("BV",),
    "BE": ("BV", "SRL"),
    "ES": ("SL", "SA"),
    "IT": ("Srl", "SpA"),
    "US": ("Inc", "LLC", "Corp"),
    "CH": ("AG", "SA"),
    "NO": ("AS",),
    "XI": ("Ltd",),
}

FIRST_NAMES: tuple[str, ...] = (
    "James",
    "Olivia",
    "Harry",
    "Amelia",
    "George",
    "Isla",
    "Jack",
    "Emily",
    "Thomas",
    "Sophie",
    "Oliver",
    "Grace",
    "William",
    "Lucy",
    "Samuel",
    "Hannah",
    "Mohammed",
    "Priya",
    "Liam",
    "Chloe",
    "Rhys",
    "Megan",
    "Connor",
    "Aisha",
)
SURNAMES: tuple[str, ...] = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Khan",
    "Patel",
    "Murphy",
    "O'Brien",
)
CONTACT_ROLES: tuple[str, ...] = (
    "Accounts Payable",
    "Purchasing Manager",
    "Office Manager",
    "Director",
    "IT Manager",
    "Operations",
)

STREETS: tuple[str, ...] = (
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Park Avenue",
    "Victoria Road",
    "Queens Road",
    "Kingsway",
    "Market Place",
    "Bridge Street",
    "Commercial Way",
    "Enterprise Park",
)
# (town, county, postcode area) for GB
UK_TOWNS: tuple[tuple[str, str, str], ...] = (
    ("Newcastle upon Tyne", "Tyne & Wear", "NE"),
    ("Leeds", "West Yorkshire", "LS"),
    ("Manchester", "Greater Manchester", "M"),
    ("Birmingham", "West Midlands", "B"),
    ("Bristol", "Avon", "BS"),
    ("Reading", "Berkshire", "RG"),
    ("Norwich", "Norfolk", "NR"),
    ("Cardiff", "South Glamorgan", "CF"),
    ("Glasgow", "Lanarkshire", "G"),
    ("Exeter", "Devon", "EX"),
    ("Nottingham", "Nottinghamshire", "NG"),
    ("Cambridge", "Cambridgeshire", "CB"),
)
FOREIGN_TOWNS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "XI": (("Belfast", "County Antrim", "BT1 3LP"), ("Newry", "County Down", "BT34 1AA")),
    "IE": (("Dublin", "Co. Dublin", "D02 X285"), ("Cork", "Co. Cork", "T12 W8CK")),
    "FR": (("Paris", "Île-de-France", "75008"), ("Lyon", "Rhône", "69002")),
    "DE": (("Berlin", "Berlin", "10115"), ("München", "Bayern", "80331")),
    "NL": (("Amsterdam", "Noord-Holland", "1012 AB"), ("Utrecht", "Utrecht", "3511 LN")),
    "BE": (("Brussels", "Brussels-Capital", "1000"), ("Antwerp", "Antwerp", "2000")),
    "ES": (("Madrid", "Madrid", "28013"), ("Barcelona", "Catalonia", "08002")),
    "IT": (("Milan", "Lombardy", "20121"), ("Turin", "Piedmont", "10121")),
    "US": (("Boston", "MA", "02108"), ("Chicago", "IL", "60601")),
    "CH": (("Zürich", "Zürich", "8001"), ("Geneva", "Geneva", "1201")),
    "NO": (("Oslo", "Oslo", "0150"), ("Bergen", "Vestland", "5003")),
}

CUSTOMER_TYPES: tuple[str, ...] = ("Trade", "Retail", "Education", "Public Sector", "Wholesale")
REGIONS: dict[str, str] = {
    "NE": "North East",
    "LS": "Yorkshire",
    "M": "North West",
    "B": "Midlands",
    "BS": "South West",
    "RG": "South East",
    "NR": "East Anglia",
    "CF": "Wales",
    "G": "Scotland",
    "EX": "South West",
    "NG": "Midlands",
    "CB": "East Anglia",
}
COURIERS: tuple[tuple[int, str], ...] = ((1, "DPD"), (2, "Royal Mail"), (3, "Parcelforce"))

# Discount bands A–E: quantity breaks and % per level. Some products carry only A and C.
DISCOUNT_BANDS: dict[str, tuple[tuple[float, float], ...]] = {
    "A": ((10, 2.5), (50, 5.0)),
    "B": ((10, 5.0), (50, 7.5), (100, 10.0)),
    "C": ((5, 3.0), (25, 6.0), (100, 9.0)),
    "D": ((20, 8.0), (100, 12.0)),
    "E": ((1, 15.0),),
}
BAND_LETTERS = "ABCDE"
