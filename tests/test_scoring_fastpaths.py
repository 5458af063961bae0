"""The fast paths of `score train` / `score run` give what the plain row-by-row code gives."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from leadcli.scoring_backtest import time_split
from leadcli.scoring_model import parse_fields, parse_many, to_number, to_numbers

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=8))
objects = st.dictionaries(st.text(max_size=6), scalars, max_size=4).map(json.dumps)
odd = st.sampled_from([None, "", "{}", "[1, 2]", "5", '"x"', "{not json}", "{", "}", '{"a": 1}, {"b": 2}',
                       '{"a": "', '"}', "null"])
texts = st.lists(st.one_of(objects, odd, st.dictionaries(st.text(max_size=3), scalars, max_size=2)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_parse_many_is_parse_fields_of_each(values):
    assert parse_many(values) == [parse_fields(v) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(scalars, st.sampled_from(["1,200", " 7 ", "n/a", "inf", "1e400", "-0", [1], {"a": 1}])),
                max_size=30))
def test_to_numbers_is_to_number_of_each(values):
    got = to_numbers(values)
    want = [to_number(v) if not isinstance(v, (list, dict)) else None for v in values]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (math.isnan(g) and w is None) or g == w


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.dates().map(lambda d: d.isoformat() + "T12:00:00Z")), min_size=1,
                max_size=60), st.data())
def test_time_split_holds_out_the_newest_fifth(moments, data):
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=len(moments), max_size=len(moments))), dtype=np.int8)
    split = time_split(moments, y)
    dated = sorted(m for m in moments if m is not None)
    if not dated:
        assert split.method == "random" and split.undated == len(moments)
        return
    since = dated[min(len(dated) - 1, int(len(dated) * 0.8))]
    assert split.since == since
    assert split.undated == len(moments) - len(dated)
    if split.method == "time":
        assert [moments[i] for i in split.test] == [m for m in moments if m is not None and m >= since]
