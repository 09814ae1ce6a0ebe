"""Run the benchmarks ``benchmarks/bench_*.py``, print their tables as markdown, save JSON.

Usage: ``python -m benchmarks.run [--only NAME[,NAME...]] [--quick]`` where NAME is a
benchmark module without its ``bench_`` prefix (``notebooks``, ``widgets``, ...).

Each module exposes ``run(quick: bool = False) -> list[dict]``; a table is a dict
``{"title": str, "columns": [...], "rows": [[...], ...], "notes": str}``. The tables of
module ``bench_NAME`` are written to ``benchmarks/results/NAME.json`` (not versioned).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path

__all__ = ["BENCH_DIR", "RESULTS_DIR", "discover", "validate_table", "to_markdown",
           "machine_info", "median_cpu", "run_benchmarks", "main"]

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
_TABLE_KEYS = ("title", "columns", "rows", "notes")


def discover(folder: Path = BENCH_DIR) -> list[str]:
    """Names (without ``bench_``) of the benchmark modules in ``folder``, sorted."""
    return sorted(p.stem[len("bench_"):] for p in Path(folder).glob("bench_*.py"))


def validate_table(table, where: str = "table") -> dict:
    """Check that ``table`` has the agreed shape; raise ``TypeError``/``ValueError`` if not."""
    if not isinstance(table, dict):
        raise TypeError(f"{where} must be a dict, got {type(table).__name__}")
    missing = [key for key in _TABLE_KEYS if key not in table]
    if missing:
        raise ValueError(f"{where} lacks keys {missing}")
    if not isinstance(table["title"], str) or not isinstance(table["notes"], str):
        raise TypeError(f"{where}: title and notes must be strings")
    columns, rows = table["columns"], table["rows"]
    if not isinstance(columns, (list, tuple)) or not columns:
        raise ValueError(f"{where}: columns must be a non-empty list")
    if not isinstance(rows, (list, tuple)):
        raise TypeError(f"{where}: rows must be a list of lists")
    for index, row in enumerate(rows):
        if not isinstance(row, (list, tuple)) or len(row) != len(columns):
            raise ValueError(f"{where}: row {index} must have {len(columns)} cells, got {row!r}")
    return table


def median_cpu(fn, repeats: int):
    """Call ``fn()`` ``repeats`` times; return its last result and the median CPU seconds
    of a call (``time.process_time``)."""
    cpus, out = [], None
    for _ in range(repeats):
        start = time.process_time()
        out = fn()
        cpus.append(time.process_time() - start)
    return out, float(statistics.median(cpus))


def _cell(value) -> str:
    if isinstance(value, float):
        text = f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(table: dict) -> str:
    """A table as GitHub markdown: a ``###`` title, the grid, then the notes."""
    validate_table(table)
    lines = [f"### {table['title']}", ""]
    lines.append("| " + " | ".join(_cell(c) for c in table["columns"]) + " |")
    lines.append("|" + "|".join("---" for _ in table["columns"]) + "|")
    for row in table["rows"]:
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    if not table["rows"]:
        lines.append("| " + " | ".join(["—"] * len(table["columns"])) + " |")
    if table["notes"]:
        lines += ["", table["notes"]]
    return "\n".join(lines) + "\n"


def machine_info() -> dict:
    """Where the numbers were measured."""
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count()}
    try:
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        pass
    return info


def run_benchmarks(names: list[str], *, quick: bool = False, write: bool = True,
                   out=sys.stdout) -> dict[str, list[dict] | str]:
    """Run the benchmark modules ``names``; return name -> tables (or an error string)."""
    results: dict[str, list[dict] | str] = {}
    for name in names:
        print(f"## bench_{name}{' (quick)' if quick else ''}\n", file=out, flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            tables = module.run(quick=quick)
            if not isinstance(tables, list):
                raise TypeError(f"bench_{name}.run must return a list of tables, "
                                f"got {type(tables).__name__}")
            for index, table in enumerate(tables):
                validate_table(table, f"bench_{name} table {index}")
        except Exception:  # one broken benchmark must not hide the others
            results[name] = traceback.format_exc()
            print(f"bench_{name} failed:\n```\n{results[name]}```\n", file=out, flush=True)
            continue
        elapsed = time.perf_counter() - start
        results[name] = tables
        for table in tables:
            print(to_markdown(table), file=out, flush=True)
        print(f"_bench_{name}: {elapsed:.1f} s_\n", file=out, flush=True)
        if write:
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            payload = {"benchmark": name, "quick": quick, "seconds": round(elapsed, 2),
                       "machine": machine_info(),
                       "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "tables": tables}
            path = RESULTS_DIR / f"{name}.json"
            path.write_text(json.dumps(payload, indent=1, ensure_ascii=False, default=str)
                            + "\n", encoding="utf-8")
            print(f"_saved {path.relative_to(BENCH_DIR.parent)}_\n", file=out, flush=True)
    return results


def main(argv=None) -> int:
    """Command-line entry point; exit status 1 if a benchmark crashed, 2 on bad usage."""
    available = discover()
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=None,
                        help=f"comma-separated benchmarks to run, among {available}")
    parser.add_argument("--quick", action="store_true",
                        help="a shorter run (fewer repeats / notebooks), for a first look")
    parser.add_argument("--no-save", action="store_true",
                        help="print only; do not write benchmarks/results/")
    args = parser.parse_args(argv)
    names = available
    if args.only:
        names = [n.strip().removeprefix("bench_") for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in available]
        if unknown:
            print(f"error: unknown benchmark(s) {unknown}; available: {available}",
                  file=sys.stderr)
            return 2
    if not names:
        print("no benchmarks found in benchmarks/bench_*.py")
        return 0
    results = run_benchmarks(names, quick=args.quick, write=not args.no_save)
    return 1 if any(isinstance(v, str) for v in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
