"""The benchmark driver: table validation, markdown, discovery, one broken module."""
from __future__ import annotations

import io
import sys
import types

import pytest

from benchmarks import run as bench

TABLE = {"title": "T", "columns": ["a", "b"], "rows": [[1, 2.5], ["x|y", 1e5]], "notes": "n"}


def test_markdown_has_title_header_rows_and_escapes_pipes():
    md = bench.to_markdown(TABLE)
    lines = md.splitlines()
    assert lines[0] == "### T"
    assert lines[2] == "| a | b |"
    assert lines[4] == "| 1 | 2.5 |"
    assert "x\\|y" in lines[5] and "100000" in lines[5]
    assert md.rstrip().endswith("n")


@pytest.mark.parametrize("table, error", [
    ([], TypeError),
    ({"title": "T", "columns": ["a"], "rows": []}, ValueError),            # no notes
    ({"title": "T", "columns": [], "rows": [], "notes": ""}, ValueError),  # no columns
    ({"title": "T", "columns": ["a"], "rows": [[1, 2]], "notes": ""}, ValueError),
    ({"title": 3, "columns": ["a"], "rows": [], "notes": ""}, TypeError),
])
def test_validate_table_rejects_malformed_tables(table, error):
    with pytest.raises(error):
        bench.validate_table(table)


def test_discover_lists_the_shipped_benchmarks():
    names = bench.discover()
    assert "notebooks" in names and "widgets" in names
    assert names == sorted(names)


def test_a_broken_benchmark_is_reported_and_does_not_hide_the_others(monkeypatch):
    good = types.ModuleType("benchmarks.bench_fake_good")
    good.run = lambda quick=False: [TABLE]
    bad = types.ModuleType("benchmarks.bench_fake_bad")
    bad.run = lambda quick=False: [{"title": "no columns"}]
    monkeypatch.setitem(sys.modules, "benchmarks.bench_fake_good", good)
    monkeypatch.setitem(sys.modules, "benchmarks.bench_fake_bad", bad)
    out = io.StringIO()
    results = bench.run_benchmarks(["fake_bad", "fake_good"], write=False, out=out)
    assert isinstance(results["fake_bad"], str) and "lacks keys" in results["fake_bad"]
    assert results["fake_good"] == [TABLE]
    assert "### T" in out.getvalue()


def test_unknown_benchmark_name_exits_2(capsys):
    assert bench.main(["--only", "no_such_benchmark", "--no-save"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err
