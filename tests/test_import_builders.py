"""The column-wise record builder equals the row-by-row one: same records, same rejects, same order."""

from __future__ import annotations

import json
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadcli.ingest import ImportOptions, RecordBuilder, columns
from leadcli.ingest.shape import RECORD

HEADER = ["First Name", "Last Name", "Email", "Phone", "Mobile", "Company", "Amount", "Created Date", "Lead Status",
          "Converted", "Tags", "Industry", "Next Activity Date", "Last Activity"]

MISSING = st.sampled_from(["", " ", "N/A", "#N/A", "null", "NULL", "NaN", "nan", "Select", "unknown", "--", "(none)"])


def _mostly(valid: st.SearchStrategy[str], invalid: list[str]) -> st.SearchStrategy[str]:
    """Valid values, one in twenty invalid: most rows must stay on the column-wise path to test it."""
    return st.tuples(st.integers(0, 19), valid, st.sampled_from(invalid)).map(lambda t: t[2] if t[0] == 0 else t[1])


WORDS = st.sampled_from(["Ana", "José", "Zoë", "Ольга", "李", "Nan", "Null", "O'Brien", "'=SUM(A1)", "van der Berg",
                         "Ng", "  Maria  ", "Smith, Jr.", "Lewis, James", "Select", "unknown"])
LOCAL = st.sampled_from(["ana", "maría.garcía.7", "ольга.петрова", "j.doe+crm", "info", "Zoë", "x"])
DOMAIN = st.sampled_from(["example.com", "Example.COM", "correo.es", "почта.рф", "mail.co.uk"])
EMAILS = _mostly(st.one_of(st.builds(lambda a, b: f"{a}@{b}", LOCAL, DOMAIN),
                           st.sampled_from(["your@gmail.com", "test@test.com", "noemail@noemail.com"])),
                 ["ana@", "not an email", "a@b", "two@x.io; three@x.io", "'=cmd@x.io"])
PHONES = _mostly(st.one_of(
    st.builds(lambda n: f"+1 415 555 {n:04d}", st.integers(0, 9999)),
    st.builds(lambda n: f"(415) 555-{n:04d}", st.integers(0, 9999)),
    st.builds(lambda n: f"+44 20 7946 {n:04d}", st.integers(0, 9999)),
    st.builds(lambda n: f"+33 1 30 00 00 {n:02d}", st.integers(0, 99))),
    ["12", "call me", "555-0100", "+7 (495) 123-45-67", "1.15164E+11", "800-38-AVAIL",
     "+1 415 555 0100 / +1 415 555 0199", "p:+44 20 7946 0958", "\u202a+44 20 7946 0958\u202c",
     "+1 949 598 9920 ext 1148", "0000000000"])
AMOUNTS = _mostly(st.one_of(st.builds(lambda c: f"{c / 100:.2f}", st.integers(0, 10**9)),
                            st.sampled_from(["1,234.50", "€1.234,56", "EUR 1,234", "$ 99", "1 000", "150 руб.",
                                             "12 zł"])),
                  ["abc", "-5", "12.5k"])
DATES = _mostly(st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}"),
    st.dates().map(lambda d: f"{d.month}/{d.day}/{d.year} 9:15 AM"),
    st.sampled_from(["2024-03-12 09:14", "2024-03-12T09:14:00Z", "29.09.2024", "45000", "15 Apr, 2021 00:03:00",
                     "15-Apr-2021 3:30 PM", "3. März 2024", "2024-04-02T13:45:00.0000000Z",
                     "2022-02-03T16:16:51+0000"])),
    ["not a date", "2024-02-30", "13/13/2024"])
STATUSES = _mostly(st.sampled_from(["New", "Working - Contacted", "Closed - Converted", "Qualified", "Junk",
                                    "Closed Won", "Lost", "open", "Disqualified"]), ["Someday"])
BOOLS = _mostly(st.sampled_from(["yes", "no", "true", "0", "1", "Y"]), ["maybe"])
TAGS = st.sampled_from(["hot", "hot;warm", "vip; east", "a;;b", "Hot, Warm"])


def _cell(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(values, values, values, MISSING)


ROW = st.tuples(_cell(WORDS), _cell(WORDS), _cell(EMAILS), _cell(PHONES), _cell(PHONES), _cell(WORDS),
                _cell(AMOUNTS), _cell(DATES), _cell(STATUSES), _cell(BOOLS), _cell(TAGS), _cell(WORDS), _cell(DATES),
                _cell(DATES)).map(list)
# Some chunks leave whole columns empty or use one date shape throughout (the whole-column fast paths).
ROWS = st.one_of(st.lists(ROW, min_size=1, max_size=25),
                 st.lists(ROW.map(lambda r: [*r[:3], "", "", *r[5:7], "2024-03-12", *r[8:12], "2024-03-13",
                                              r[13]]), min_size=1, max_size=25))


def _builder(strict: bool = False) -> RecordBuilder:
    return RecordBuilder(columns.resolve(HEADER, {}), ImportOptions(strict=strict))


def _records_from_columns(slots: list[int], cols: list[list], kept: int) -> list[tuple]:
    out = []
    for i in range(kept):
        rec: list = [None] * len(RECORD)
        for slot, col in zip(slots, cols, strict=True):
            rec[slot] = col[i]
        out.append(tuple(rec))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS, st.booleans())
def test_columnwise_builder_equals_row_builder(rows, strict):
    columnwise = _builder(strict)
    slots, cols, rejects = columnwise.build_many([list(r) for r in rows])

    by_row = _builder(strict)
    # The import reads a column's day order from its chunk before building; so does the reference.
    by_row._sniff_day_order(list(zip(*rows, strict=True)))
    expected, expected_rejects, expected_flags = [], [], {}
    for i, cells in enumerate(rows):
        try:
            expected.append(by_row.build(list(cells)))
        except Exception as exc:  # noqa: BLE001 - any error must be the same on both paths
            expected_rejects.append((i, type(exc).__name__, getattr(exc, "message", str(exc))))
            continue
        if by_row.flags:
            expected_flags[i] = by_row.flags

    assert [(i, type(e).__name__, e.message) for i, e in rejects] == expected_rejects
    assert _records_from_columns(slots, cols, len(expected)) == expected
    assert columnwise.chunk_flags == expected_flags
    dated: Counter[str] = Counter()
    by_row2 = _builder(strict)
    by_row2._sniff_day_order(list(zip(*rows, strict=True)))
    for cells in rows:
        try:
            by_row2.build(list(cells))
        except Exception:  # noqa: BLE001, S112 - rejected rows are dated by nothing
            continue
        if by_row2.dated_by:
            dated[by_row2.dated_by] += 1
    assert columnwise.chunk_dated == dated


def test_a_row_longer_than_the_header_is_flagged_and_its_cells_kept():
    builder = _builder()
    row = ["Ana", "Li", "ana@x.io", "", "", "Acme", "", "", "", "", "", "Retail", "", "", "Holt & Sons"]
    slots, cols, rejects = builder.build_many([row, ["Bo", *[""] * 13]])
    assert rejects == [] and builder.chunk_flags[0][0][0] == "row" and "Holt & Sons" in builder.chunk_flags[0][0][1]
    record = dict(zip(RECORD, _records_from_columns(slots, cols, 2)[0], strict=True))
    assert json.loads(record["fields"])["column 15"] == "Holt & Sons"


def test_property_covers_rejects_and_flags():
    """The generated rows reach the paths the property is about: a reject, a converted flag, a fallback."""
    builder = _builder(strict=True)
    rows = [["Ana", "", "ana@", "", "", "", "", "", "", "", "", "", "", ""],
            ["", "", "", "", "+1 415 555 0100", "", "", "", "New", "yes", "", "", "2024-03-12", ""],
            ["", "", "", "", "", "", "", "", "", "", "", "Retail", "", "2024-03-01"]]
    slots, cols, rejects = builder.build_many(rows)
    assert [i for i, _ in rejects] == [0, 2]
    record = dict(zip(RECORD, _records_from_columns(slots, cols, 1)[0], strict=True))
    assert record["status"] == "converted" and record["phone_key"] == "+14155550100"
    assert record["next_activity_at"] == "2024-03-12T00:00:00Z" and record["last_activity_at"] is None
    lenient = _builder()
    slots, cols, rejects = lenient.build_many(rows)
    assert [i for i, _ in rejects] == [2] and list(lenient.chunk_flags) == [0]
    assert lenient.chunk_flags[0][0][:2] == ("Email", "ana@")
