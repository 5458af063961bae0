"""Writes made-up leads shaped like a Salesforce lead export (examples/leads.csv holds 200 of them).

Deterministic (fixed seed), so the README's figures stay reproducible. Run:
    python examples/generate_leads.py > examples/leads.csv
    python examples/generate_leads.py --size 100000 > big.csv
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys

FIRST = ["Ana", "Bo", "Carla", "Dmitri", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya", "Liam",
         "Mei", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Ugo", "Vera", "Wen", "Yusuf", "Zoe"]
LAST = ["Silva", "Chen", "Rossi", "Ivanov", "Kaya", "Haddad", "Okafor", "Tanaka", "García", "Berg", "Iyer",
        "Murphy", "Li", "Novak", "Farouk", "Shah", "Baker", "Moreno", "Larsen", "Singh", "Conti", "Weber"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Foods", "Hooli",
             "Vandelay Imports", "Soylent Labs", "Tyrell Systems", "Cyberdyne", "Wonka Retail", "Pied Piper",
             "Massive Dynamic", "Oscorp", "Gringotts Finance", "Aperture Science", "Monarch Travel", "Nakatomi",
             "Dunder Mifflin", "Prestige Worldwide", "Blue Sun", "Virtucon", "Bluth Homes"]
TITLES = ["CEO", "CTO", "Head of Sales", "Operations Manager", "Procurement Lead", "IT Director", "Founder",
          "Marketing Manager", "CFO", "Office Manager"]
# source: (weight, conversion odds among closed leads)
SOURCES = {"Web": (30, 0.28), "Partner Referral": (15, 0.80), "Phone Inquiry": (10, 0.55),
           "Trade Show": (12, 0.38), "Cold Call": (18, 0.05), "Paid Ads": (15, 0.14)}
OWNERS = ["maria", "li", "sam", "noor"]
INDUSTRIES = {"Software": 1.5, "Retail": 0.8, "Healthcare": 1.1, "Logistics": 1.0, "Finance": 1.3,
              "Education": 0.5}
REASONS = ["no budget", "no need", "bad timing", "competitor", "unresponsive", "no authority"]
TODAY = dt.datetime(2026, 11, 15, 17, 0, tzinfo=dt.timezone.utc)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Write made-up leads as a Salesforce-style CSV on stdout.")
    parser.add_argument("--size", type=int, default=200, help="how many leads (default: 200)")
    parser.add_argument("--seed", type=int, default=20261115, help="random seed (default: the README's)")
    args = parser.parse_args(argv)
    if args.size < 0:
        parser.error("--size must be 0 or more")
    rng = random.Random(args.seed)
    writer = csv.writer(sys.stdout, lineterminator="\r\n")
    writer.writerow(["Lead ID", "First Name", "Last Name", "Email", "Phone", "Company", "Title", "Lead Source",
                     "Lead Owner", "Lead Status", "Estimated Value", "Currency", "Created Date", "Converted Date",
                     "Disqualified Reason", "Industry", "No. of Employees", "Country", "Newsletter"])
    used = set()
    for n in range(args.size):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = rng.choice(COMPANIES)
        domain = company.lower().replace(" ", "") .replace("é", "e") + rng.choice([".com", ".io", ".co"])
        email = f"{first.lower()}.{last.lower().replace('í', 'i')}@{domain}"
        if email in used:
            email = f"{first.lower()}{n}@{domain}"
        if email in used:  # a large --size runs out of name pairs: the row number keeps e-mails unique
            email = f"{first.lower()}.{last.lower().replace('í', 'i')}.{n}@{domain}"
        used.add(email)
        source = rng.choices(list(SOURCES), weights=[w for w, _ in SOURCES.values()])[0]
        industry = rng.choice(list(INDUSTRIES))
        created = TODAY - dt.timedelta(days=rng.uniform(0, 548), hours=rng.uniform(0, 12))
        age_days = (TODAY - created).days
        odds = min(0.95, SOURCES[source][1] * INDUSTRIES[industry])
        employees = rng.choice([5, 12, 40, 85, 150, 400, 1200, 5000])
        if employees >= 400:
            odds = min(0.95, odds * 1.2)
        closed_share = min(0.92, 0.15 + age_days / 300)
        converted_date = reason = ""
        if rng.random() < closed_share:
            if rng.random() < odds:
                status = "Closed - Converted"
                converted = created + dt.timedelta(days=rng.uniform(3, min(120, max(4, age_days))))
                converted_date = min(converted, TODAY).strftime("%Y-%m-%d")
            else:
                status, reason = "Closed - Not Converted", rng.choice(REASONS)
        else:
            status = rng.choice(["Open - Not Contacted", "Working - Contacted", "Working - Contacted",
                                 "Qualified"])
        value = rng.choice([0, 1500, 2500, 4800, 7500, 12000, 18500, 25000, 40000, 75000])
        value_text = f"{value:,.2f}" if value else ""
        phone = f"+1 {rng.randint(201, 989)} 555 {rng.randint(1000, 9999)}" if rng.random() < 0.8 else ""
        writer.writerow([
            f"00Q5g00000{n:08d}", first, last, email, phone, company, rng.choice(TITLES), source,
            rng.choice(OWNERS), status, value_text, "USD" if value else "",
            created.strftime("%Y-%m-%d %H:%M"), converted_date, reason, industry, employees,
            rng.choice(["US", "US", "US", "DE", "GB", "FR", "CA"]), rng.choice(["Yes", "No"]),
        ])


if __name__ == "__main__":
    main()
