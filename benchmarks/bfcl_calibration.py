"""Hand-written call / no-call cases for setting a decision policy's threshold.

Written for hanlin, not taken from BFCL or any other benchmark, so that a threshold chosen
on them leaves BFCL a held-out test. Calls and no-calls are split evenly. Many call cases
are formal task requests with concrete values, some offering two or three tools of which
exactly one fits. Most no-call cases are near misses: a tool of the same domain, often
with numbers in the question that would make a call look plausible, that still cannot
answer it; the rest offer a tool from an unrelated domain.
"""

from __future__ import annotations

from typing import Any

from hanlin.llm.chat_model import ToolSpec


def _tool(name: str, description: str, **params: tuple[str, str]) -> ToolSpec:
    properties: dict[str, Any] = {
        key: {"type": kind, "description": text} for key, (kind, text) in params.items()
    }
    return ToolSpec(
        name=name,
        description=description,
        parameters={"type": "object", "properties": properties, "required": list(params)},
    )


def _param(kind: str, description: str, **extra: Any) -> dict[str, Any]:
    """One JSON-schema property; ``extra`` adds keys such as ``enum`` or ``items``."""
    return {"type": kind, "description": description, **extra}


def _typed_tool(
    name: str,
    description: str,
    params: dict[str, dict[str, Any]],
    optional: tuple[str, ...] = (),
) -> ToolSpec:
    """A tool with full property schemas; the names in ``optional`` are not required."""
    return ToolSpec(
        name=name,
        description=description,
        parameters={
            "type": "object",
            "properties": params,
            "required": [key for key in params if key not in optional],
        },
    )


WEATHER = _tool("get_weather", "Current weather for a city.", city=("string", "City name."))
CURRENCY = _tool(
    "convert_currency",
    "Convert an amount of money between currencies.",
    amount=("number", "Amount to convert."),
    source=("string", "Currency code to convert from, e.g. EUR."),
    target=("string", "Currency code to convert to, e.g. USD."),
)
EMAIL = _tool(
    "send_email",
    "Send an email.",
    to=("string", "Recipient address."),
    subject=("string", "Subject line."),
    body=("string", "Message text."),
)
FLIGHTS = _tool(
    "search_flights",
    "Search flights between two cities on a date.",
    origin=("string", "Departure city."),
    destination=("string", "Arrival city."),
    date=("string", "Date as YYYY-MM-DD."),
)
BMI = _tool(
    "compute_bmi",
    "Body mass index from weight and height.",
    weight_kg=("number", "Weight in kilograms."),
    height_m=("number", "Height in metres."),
)
TRANSLATE = _tool(
    "translate_text",
    "Translate text into another language.",
    text=("string", "Text to translate."),
    target_language=("string", "Language to translate into."),
)
STOCK = _tool("get_stock_price", "Latest price of a stock.", ticker=("string", "Ticker symbol."))
TIMER = _tool("set_timer", "Start a countdown timer.", minutes=("integer", "Length in minutes."))

NUMBERS = _param("array", "The data values.", items={"type": "number"})
LENGTH_UNITS = ["millimetre", "centimetre", "metre", "kilometre", "inch", "foot", "yard", "mile"]

COMPOUND_INTEREST = _typed_tool(
    "finance_compound_interest",
    "Interest earned on a principal with periodic compounding.",
    {
        "principal": _param("number", "Initial amount."),
        "annual_rate": _param("number", "Annual interest rate in percent, e.g. 3.5."),
        "years": _param("integer", "Number of years."),
        "compounds_per_year": _param("integer", "Compounding periods per year."),
    },
)
LOAN_PAYMENT = _typed_tool(
    "finance_loan_monthly_payment",
    "Fixed monthly payment of an amortising loan.",
    {
        "principal": _param("number", "Amount borrowed."),
        "annual_rate": _param("number", "Annual interest rate in percent."),
        "term_months": _param("integer", "Length of the loan in months."),
    },
)
CIRCLE_AREA = _tool(
    "geometry_circle_area", "Area of a circle from its radius.", radius=("number", "Radius.")
)
TRIANGLE_AREA = _tool(
    "geometry_triangle_area",
    "Area of a triangle from its base and height.",
    base=("number", "Length of the base."),
    height=("number", "Perpendicular height."),
)
RECTANGLE_PERIMETER = _tool(
    "geometry_rectangle_perimeter",
    "Perimeter of a rectangle from its sides.",
    length=("number", "Length of the rectangle."),
    width=("number", "Width of the rectangle."),
)
FINAL_VELOCITY = _tool(
    "physics_final_velocity",
    "Final velocity under constant acceleration.",
    initial_velocity=("number", "Initial velocity in m/s."),
    acceleration=("number", "Acceleration in m/s^2."),
    time=("number", "Elapsed time in seconds."),
)
KINETIC_ENERGY = _tool(
    "physics_kinetic_energy",
    "Kinetic energy of a moving body in joules.",
    mass_kg=("number", "Mass in kilograms."),
    velocity=("number", "Speed in m/s."),
)
MOLAR_MASS = _tool(
    "chem_molar_mass",
    "Molar mass of a compound from its chemical formula.",
    formula=("string", "Chemical formula, e.g. H2SO4."),
)
GAS_PRESSURE = _tool(
    "chem_ideal_gas_pressure",
    "Pressure of an ideal gas in kilopascals.",
    moles=("number", "Amount of gas in moles."),
    temperature_k=("number", "Temperature in kelvin."),
    volume_l=("number", "Volume in litres."),
)
MEAN = _typed_tool("stats_mean", "Arithmetic mean of a list of numbers.", {"values": NUMBERS})
MEDIAN = _typed_tool("stats_median", "Median of a list of numbers.", {"values": NUMBERS})
STDEV = _typed_tool(
    "stats_standard_deviation",
    "Standard deviation of a list of numbers.",
    {
        "values": NUMBERS,
        "sample": _param("boolean", "True for the sample, false for the population formula."),
    },
    optional=("sample",),
)
HOTELS = _typed_tool(
    "hotel_search",
    "Search available hotel rooms in a city.",
    {
        "city": _param("string", "City name."),
        "check_in": _param("string", "Check-in date as YYYY-MM-DD."),
        "nights": _param("integer", "Number of nights."),
        "guests": _param("integer", "Number of guests."),
    },
    optional=("guests",),
)
TRAIN_TICKET = _typed_tool(
    "rail_book_ticket",
    "Book train tickets between two stations.",
    {
        "origin": _param("string", "Departure city."),
        "destination": _param("string", "Arrival city."),
        "date": _param("string", "Travel date as YYYY-MM-DD."),
        "travel_class": _param("string", "Seat class.", enum=["standard", "first"]),
        "passengers": _param("integer", "Number of tickets."),
    },
    optional=("travel_class",),
)
CREATE_EVENT = _typed_tool(
    "calendar_create_event",
    "Create an event in the user's calendar.",
    {
        "title": _param("string", "Event title."),
        "start": _param("string", "Start as YYYY-MM-DDTHH:MM."),
        "duration_minutes": _param("integer", "Length in minutes."),
        "attendees": _param("array", "Email addresses to invite.", items={"type": "string"}),
    },
    optional=("attendees",),
)
ADD_TO_CART = _tool(
    "shop_add_to_cart",
    "Add a product to the shopping cart.",
    product_id=("string", "Product identifier."),
    quantity=("integer", "Number of units."),
)
TRACK_ORDER = _tool(
    "shop_track_order", "Shipping status of an order.", order_id=("string", "Order number.")
)
STANDINGS = _tool(
    "sports_league_standings",
    "Team standings table of a league for a season.",
    league=("string", "League name."),
    season=("string", "Season, e.g. 2022-23."),
)
PLAYER_STATS = _typed_tool(
    "sports_player_season_stats",
    "A basketball player's per-game average for one statistic in a season.",
    {
        "player_name": _param("string", "Full name of the player."),
        "season": _param("string", "Season, e.g. 2022-23."),
        "stat": _param("string", "Statistic.", enum=["points", "rebounds", "assists", "steals"]),
    },
)
PLAYLIST = _typed_tool(
    "music_create_playlist",
    "Create a playlist filled with tracks of one genre.",
    {
        "name": _param("string", "Playlist name."),
        "genre": _param(
            "string", "Genre.", enum=["rock", "jazz", "electronic", "classical", "hip-hop"]
        ),
        "track_count": _param("integer", "Number of tracks."),
    },
)
SCALE_RECIPE = _tool(
    "recipe_scale_servings",
    "Rescale a saved recipe's ingredient amounts to a new number of servings.",
    recipe_name=("string", "Name of the saved recipe."),
    original_servings=("integer", "Servings the recipe is written for."),
    target_servings=("integer", "Servings wanted."),
)
CALORIES = _typed_tool(
    "health_daily_calories",
    "Estimated daily calorie needs of an adult.",
    {
        "age": _param("integer", "Age in years."),
        "sex": _param("string", "Sex.", enum=["female", "male"]),
        "weight_kg": _param("number", "Weight in kilograms."),
        "height_cm": _param("number", "Height in centimetres."),
        "activity_level": _param(
            "string", "Activity level.", enum=["sedentary", "light", "moderate", "very_active"]
        ),
    },
)
LIST_DIR = _typed_tool(
    "fs_list_directory",
    "List the entries of a directory.",
    {
        "path": _param("string", "Absolute directory path."),
        "include_hidden": _param("boolean", "Whether to include dotfiles."),
    },
    optional=("include_hidden",),
)
RUN_QUERY = _tool(
    "db_run_query",
    "Run a read-only SQL query on a database and return the rows.",
    database=("string", "Database name."),
    sql=("string", "SQL SELECT statement."),
)
LIST_TABLES = _tool(
    "db_list_tables", "List the tables of a database.", database=("string", "Database name.")
)
GEO_DISTANCE = _tool(
    "geo_great_circle_distance",
    "Great-circle distance in kilometres between two coordinates.",
    lat1=("number", "Latitude of the first point."),
    lon1=("number", "Longitude of the first point."),
    lat2=("number", "Latitude of the second point."),
    lon2=("number", "Longitude of the second point."),
)
CONVERT_LENGTH = _typed_tool(
    "units_convert_length",
    "Convert a length between units.",
    {
        "value": _param("number", "Length to convert."),
        "from_unit": _param("string", "Unit of the value.", enum=LENGTH_UNITS),
        "to_unit": _param("string", "Unit to convert to.", enum=LENGTH_UNITS),
    },
)
CONVERT_TEMPERATURE = _typed_tool(
    "units_convert_temperature",
    "Convert a temperature between scales.",
    {
        "value": _param("number", "Temperature to convert."),
        "from_scale": _param(
            "string", "Scale of the value.", enum=["celsius", "fahrenheit", "kelvin"]
        ),
        "to_scale": _param(
            "string", "Scale to convert to.", enum=["celsius", "fahrenheit", "kelvin"]
        ),
    },
)
NET_PAY = _tool(
    "hr_payroll_net_pay",
    "Net pay of an employee after tax and deductions.",
    gross_pay=("number", "Gross pay for the period."),
    tax_rate=("number", "Tax rate in percent."),
    deductions=("number", "Other deductions."),
)

# (question, tools offered, whether a call is the right reply)
CASES: list[tuple[str, list[ToolSpec], bool]] = [
    ("What's the weather like in Lisbon right now?", [WEATHER], True),
    ("Convert 250 euros to Japanese yen.", [CURRENCY], True),
    ("Email bob@example.com that the meeting moved to 3pm.", [EMAIL], True),
    ("Find flights from Boston to Denver on 2024-05-02.", [FLIGHTS, WEATHER], True),
    ("I weigh 70 kg and I am 1.75 m tall. What is my BMI?", [BMI], True),
    ("Translate 'good morning' into German.", [TRANSLATE], True),
    ("How much is one share of AAPL trading at?", [STOCK, CURRENCY], True),
    ("Set a timer for 12 minutes.", [TIMER], True),
    ("Who wrote the novel Pride and Prejudice?", [WEATHER], False),
    ("Write a haiku about autumn leaves.", [CURRENCY], False),
    ("What is the boiling point of water at sea level?", [EMAIL], False),
    ("Explain photosynthesis in one sentence.", [FLIGHTS], False),
    ("What is the area of a circle with radius 3?", [BMI], False),
    ("What is the population of Tokyo?", [WEATHER], False),
    ("What is 15% of 80?", [CURRENCY], False),
    ("Which company makes the iPhone?", [STOCK], False),
    # Formal task requests with concrete values and a tool that fits.
    (
        "Calculate the compound interest earned on a principal of 12,000 dollars at an annual "
        "rate of 3.5% over 7 years, compounded quarterly.",
        [COMPOUND_INTEREST],
        True,
    ),
    (
        "Determine the monthly payment on a 250,000 dollar mortgage at 6.1% annual interest "
        "over 30 years.",
        [LOAN_PAYMENT, COMPOUND_INTEREST],
        True,
    ),
    (
        "Find the area of a triangle whose base is 9 cm and whose height is 14 cm.",
        [CIRCLE_AREA, TRIANGLE_AREA],
        True,
    ),
    (
        "Compute the perimeter of a rectangle 7.5 m long and 3.2 m wide.",
        [CIRCLE_AREA, TRIANGLE_AREA, RECTANGLE_PERIMETER],
        True,
    ),
    (
        "Determine the final velocity of an object that starts at 4 m/s and accelerates at "
        "2.5 m/s^2 for 6 seconds.",
        [FINAL_VELOCITY],
        True,
    ),
    (
        "Find the kinetic energy of a 1,200 kg car travelling at 25 m/s.",
        [FINAL_VELOCITY, KINETIC_ENERGY],
        True,
    ),
    ("Compute the molar mass of C6H12O6.", [MOLAR_MASS], True),
    (
        "Using the ideal gas law, compute the pressure of 2 moles of gas at 300 K in a "
        "10 litre container.",
        [MOLAR_MASS, GAS_PRESSURE],
        True,
    ),
    (
        "Compute the sample standard deviation of the values 12, 15, 9, 20, 17 and 11.",
        [STDEV],
        True,
    ),
    ("Find the median of 8, 3, 14, 7, 10, 2 and 9.", [MEAN, MEDIAN], True),
    (
        "Search for hotels in Kyoto for 2 guests, checking in on 2025-03-14 for 4 nights.",
        [HOTELS],
        True,
    ),
    (
        "Book two first-class train tickets from Milan to Zurich on 2025-09-03.",
        [TRAIN_TICKET, HOTELS],
        True,
    ),
    (
        "Schedule a 45-minute meeting titled 'Budget review' on 2025-06-10 at 14:00 and "
        "invite dana@corp.example and lee@corp.example.",
        [CREATE_EVENT],
        True,
    ),
    (
        "Add 3 units of product SKU-48213 to my shopping cart.",
        [ADD_TO_CART, TRACK_ORDER],
        True,
    ),
    (
        "Retrieve the standings table of the Eredivisie for the 2023-24 season.",
        [STANDINGS],
        True,
    ),
    (
        "Get Nikola Jokic's rebounds per game for the 2022-23 season.",
        [STANDINGS, PLAYER_STATS],
        True,
    ),
    (
        "Create a playlist named 'Morning Run' with 25 electronic tracks.",
        [PLAYLIST],
        True,
    ),
    (
        "Scale my saved lentil soup recipe from 4 servings to 10 servings.",
        [SCALE_RECIPE],
        True,
    ),
    (
        "Estimate the daily calorie needs of a 34-year-old woman who weighs 62 kg, is 168 cm "
        "tall and is moderately active.",
        [CALORIES, BMI],
        True,
    ),
    ("List all files in /var/log/nginx, including hidden ones.", [LIST_DIR], True),
    (
        "Run SELECT COUNT(*) FROM orders WHERE status = 'shipped' against the sales database.",
        [RUN_QUERY, LIST_TABLES],
        True,
    ),
    (
        "Calculate the distance between latitude 48.8566, longitude 2.3522 and latitude "
        "41.9028, longitude 12.4964.",
        [GEO_DISTANCE],
        True,
    ),
    ("Convert 26.2 miles to kilometres.", [CONVERT_LENGTH], True),
    ("Convert 350 degrees Fahrenheit to Celsius.", [CONVERT_LENGTH, CONVERT_TEMPERATURE], True),
    # Near misses: a tool of the question's domain that cannot answer it.
    (
        "What is the remaining balance on an 18,000 dollar car loan at 4.9% after 24 of its "
        "60 monthly payments?",
        [LOAN_PAYMENT],
        False,
    ),
    ("Find the volume of a sphere with a radius of 4 cm.", [CIRCLE_AREA], False),
    (
        "Find the length of the hypotenuse of a right triangle with legs of 6 and 8.",
        [TRIANGLE_AREA],
        False,
    ),
    (
        "Calculate the gravitational potential energy of a 5 kg box lifted 12 metres.",
        [KINETIC_ENERGY],
        False,
    ),
    ("Balance the chemical equation Fe + O2 -> Fe2O3.", [MOLAR_MASS], False),
    (
        "What is the pH of a 0.01 M hydrochloric acid solution at 298 K?",
        [GAS_PRESSURE],
        False,
    ),
    ("Compute the mode of 4, 7, 7, 2, 9, 7 and 4.", [MEAN], False),
    (
        "What platform does the 08:15 train from Milan to Zurich leave from on 2025-09-03?",
        [TRAIN_TICKET],
        False,
    ),
    (
        "What is the checked baggage allowance for an economy ticket from Boston to Denver "
        "on 2024-05-02?",
        [FLIGHTS],
        False,
    ),
    ("Which meetings do I have on 2025-06-10?", [CREATE_EVENT], False),
    (
        "Return order 99-1842 and refund it to my card.",
        [ADD_TO_CART, TRACK_ORDER],
        False,
    ),
    (
        "How many goals did the top scorer of the 2021-22 Serie A season score?",
        [STANDINGS],
        False,
    ),
    ("Transpose the chord progression C-G-Am-F up 2 semitones.", [PLAYLIST], False),
    (
        "How long should I roast a 2.5 kg chicken at 190 degrees Celsius?",
        [SCALE_RECIPE],
        False,
    ),
    (
        "What is the recommended daily intake of vitamin D for a 34-year-old woman?",
        [CALORIES],
        False,
    ),
    ("Delete the file /tmp/cache/session_8812.tmp.", [LIST_DIR], False),
    (
        "Insert a row with id 42 and name 'Ada' into the customers table of the crm database.",
        [LIST_TABLES],
        False,
    ),
    (
        "What is the elevation above sea level at latitude 46.5197, longitude 6.6323?",
        [GEO_DISTANCE],
        False,
    ),
    ("Convert 3 cups of flour to grams.", [CONVERT_LENGTH], False),
    (
        "What was the euro to US dollar exchange rate on 2008-07-15?",
        [CURRENCY],
        False,
    ),
    ("How much rain fell in Lisbon in March 2019?", [WEATHER], False),
    # Formal tasks with numbers and a tool from an unrelated domain.
    (
        "Compute the volume of a cylinder with a radius of 3 m and a height of 8 m.",
        [NET_PAY],
        False,
    ),
    ("Find the derivative of 3x^2 + 5x - 2 at x = 4.", [HOTELS], False),
    (
        "Determine the half-life of a sample that decays from 80 g to 20 g in 12 days.",
        [ADD_TO_CART],
        False,
    ),
]
