#!/usr/bin/env python3
"""Summarize gc_benchmarks' (or weak_benchmarks') Google Benchmark JSON output as a
readable table.

Usage:
  gc_benchmarks --benchmark_out=run.json        # JSON is the default file format
  python3 benchmarks/summarize.py run.json [more.json ...] [--markdown]
  gc_benchmarks --benchmark_format=json | python3 benchmarks/summarize.py

Several files may be given (for example three runs of the whole suite, or one process
per benchmark for clean peak-RSS numbers). Every figure is the median over the runs
(repetitions within a file count as runs; "mean" aggregates are used when a file has
them), and the time column shows the range when there is more than one run. A ratio to
a baseline is computed within each file, where both were measured side by side, and
its median is shown.

Each row is one benchmark on one collector or baseline: real time per iteration (one
complete program run; for BM_Alloc, 2^20 allocations), ns per item where the benchmark
counts items, collections, total and longest pause, the share of time spent in pauses,
the peak RSS of the process during the run and how far it rose above the RSS the run
started with (what earlier benchmarks left resident). gclab rows also show their time
divided by each baseline's time for the same benchmark (Boehm, new/delete, bump
pointer): 2.00x means twice as slow.
"""

import argparse
import json
import statistics
import sys

# Variant names that are baselines rather than gclab collectors, with column titles.
BASELINES = {
    "boehm": "Boehm",
    "new-delete": "new/delete",
    "bump-pointer": "bump",
    "mimalloc": "mimalloc",
    "mimalloc-dlopen": "mimalloc (dlopen)",
    # weak_benchmarks
    "shared_ptr": "shared_ptr",
    "flat_hash_map": "flat_hash_map",
}

TIME_UNIT_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}

# Name components Google Benchmark appends that are not part of the variant.
NAME_SUFFIXES = ("real_time", "manual_time", "process_time")

NUMERIC_FIELDS = (
    "real_time_ms",
    "cpu_time_ms",
    "items_per_second",
    "collections",
    "pause_ms",
    "max_pause_ms",
    "peak_rss_mb",
    "rss_start_mb",
)


def load(paths):
    """Returns (contexts, entries) from the JSON files (or stdin for '-')."""
    contexts, entries = [], []
    for path in paths:
        try:
            if path == "-":
                data = json.load(sys.stdin)
            else:
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            sys.exit(f"summarize.py: cannot read {path}: {e}")
        if not isinstance(data, dict) or "benchmarks" not in data:
            sys.exit(f"summarize.py: {path} is not Google Benchmark JSON output")
        contexts.append(data.get("context", {}))
        for entry in data["benchmarks"]:
            entry["_file"] = len(contexts) - 1
            entries.append(entry)
    return contexts, entries


def split_name(run_name):
    """'BM_GCBench/semispace/iterations:1' -> ('BM_GCBench', 'semispace')."""
    parts = run_name.split("/")
    rest = [p for p in parts[1:] if ":" not in p and p not in NAME_SUFFIXES]
    return parts[0], "/".join(rest)


def measurements(entry):
    """The numeric fields of one benchmark entry, times converted to ms."""
    scale = TIME_UNIT_TO_MS.get(entry.get("time_unit", "ns"), 1e-6)
    m = {}
    if "real_time" in entry:
        m["real_time_ms"] = entry["real_time"] * scale
    if "cpu_time" in entry:
        m["cpu_time_ms"] = entry["cpu_time"] * scale
    for key in NUMERIC_FIELDS[2:]:
        if isinstance(entry.get(key), (int, float)):
            m[key] = float(entry[key])
    return m


def collect(entries):
    """Groups entries by run, returning ordered rows of averaged measurements."""
    # (run_name, label) -> {"iterations": [...], "means": [...], "errors": [...]}; the
    # label keeps apart runs with different parameters (binary-trees' depth=N).
    runs = {}
    for entry in entries:
        run_name = entry.get("run_name", entry.get("name", "?"))
        label = entry.get("label", "")
        run = runs.setdefault(
            (run_name, label), {"iterations": [], "means": [], "errors": [], "label": label}
        )
        if entry.get("error_occurred"):
            run["errors"].append(entry.get("error_message", "error"))
            continue
        run_type = entry.get("run_type", "iteration")
        m = measurements(entry)
        m["_file"] = entry["_file"]
        if run_type == "aggregate":
            if entry.get("aggregate_name") == "mean":
                run["means"].append(m)
        else:
            run["iterations"].append(m)

    rows = []
    for (run_name, _), run in runs.items():
        family, variant = split_name(run_name)
        # Prefer the library's means; without them, the plain runs.
        samples = run["means"] or run["iterations"]
        averaged = {}
        for key in NUMERIC_FIELDS:
            values = [s[key] for s in samples if key in s]
            if values:
                averaged[key] = statistics.median(values)
        times = [s["real_time_ms"] for s in samples if "real_time_ms" in s]
        # Per file: the time measured there, for ratios taken side by side.
        by_file = {}
        for s_ in samples:
            if "real_time_ms" in s_:
                by_file.setdefault(s_["_file"], []).append(s_["real_time_ms"])
        rows.append(
            {
                "family": family,
                "variant": variant,
                "label": run["label"],
                "error": run["errors"][0] if run["errors"] and not samples else "",
                "m": averaged,
                "range": (min(times), max(times)) if len(times) > 1 else None,
                "by_file": {f: statistics.median(v) for f, v in by_file.items()},
            }
        )
    return rows


def fmt(value, suffix=""):
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 99.95:
        text = f"{value:.0f}"
    elif magnitude >= 9.995:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text + suffix


def build_table(rows):
    families = []  # (family, label): ratios compare runs of the same parameters
    for row in rows:
        if (row["family"], row["label"]) not in families:
            families.append((row["family"], row["label"]))
    baseline_columns = [
        b for b in BASELINES if any(r["variant"] == b for r in rows)
    ]

    header = ["benchmark", "collector/baseline", "time ms", "ns/item", "collections",
              "pause ms", "max pause ms", "GC %", "peak RSS MB", "RSS growth MB"]
    header += [f"x {BASELINES[b]}" for b in baseline_columns]

    table = []
    for family, label in families:
        members = [r for r in rows if r["family"] == family and r["label"] == label]
        base_by_file = {
            r["variant"]: r["by_file"]
            for r in members
            if r["variant"] in BASELINES and not r["error"]
        }
        for r in members:
            name = family + (f" ({r['label']})" if r["label"] else "")
            if r["error"]:
                table.append([name, r["variant"], "error: " + r["error"]]
                             + [""] * (len(header) - 3))
                continue
            m = r["m"]
            time_ms = m.get("real_time_ms")
            ns_per_item = (1e9 / m["items_per_second"]
                           if m.get("items_per_second") else None)
            gc_share = (100.0 * m["pause_ms"] / time_ms
                        if "pause_ms" in m and time_ms else None)
            time_text = fmt(time_ms)
            if r["range"]:
                time_text += f" ({fmt(r['range'][0])}-{fmt(r['range'][1])})"
            line = [
                name,
                r["variant"],
                time_text,
                fmt(ns_per_item),
                fmt(m.get("collections")),
                fmt(m.get("pause_ms")),
                fmt(m.get("max_pause_ms")),
                fmt(gc_share),
                fmt(m.get("peak_rss_mb")),
                fmt(max(0.0, m["peak_rss_mb"] - m["rss_start_mb"])
                    if "peak_rss_mb" in m and "rss_start_mb" in m else None),
            ]
            for b in baseline_columns:
                base = base_by_file.get(b, {})
                ratios = [t / base[f] for f, t in r["by_file"].items() if base.get(f)]
                if r["variant"] in BASELINES or not ratios:
                    line.append("-")
                else:
                    line.append(fmt(statistics.median(ratios), "x"))
            table.append(line)
    return header, table


def render_text(header, table):
    widths = [len(h) for h in header]
    for line in table:
        for i, cell in enumerate(line):
            widths[i] = max(widths[i], len(cell))
    numeric_from = 2  # left-align the two name columns, right-align numbers

    def render(cells):
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.rjust(widths[i]) if i >= numeric_from else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    lines = [render(header), render(["-" * w for w in widths])]
    previous = None
    for line in table:
        if previous is not None and line[0] != previous:
            lines.append("")
        previous = line[0]
        lines.append(render(line))
    return "\n".join(lines)


def render_markdown(header, table):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|"]
    for line in table:
        lines.append("| " + " | ".join(line) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(
        description="Summarize gc_benchmarks JSON output as a table.")
    parser.add_argument("files", nargs="*", default=["-"],
                        help="Google Benchmark JSON files ('-' or none: stdin)")
    parser.add_argument("--markdown", action="store_true",
                        help="print a Markdown table")
    args = parser.parse_args()

    contexts, entries = load(args.files)
    rows = collect(entries)
    if not rows:
        sys.exit("summarize.py: no benchmark results in the input")
    header, table = build_table(rows)
    print(render_markdown(header, table) if args.markdown else render_text(header, table))

    notes = []
    depths = sorted({c.get("binary_trees_depth") for c in contexts
                     if c.get("binary_trees_depth")})
    if depths:
        notes.append("binary-trees depth: " + ", ".join(depths))
    if any(c.get("library_build_type") == "debug" for c in contexts):
        notes.append("the Google Benchmark library was built as debug (does not affect "
                     "the code measured)")
    notes.append(f"{len(contexts)} run(s); medians, time range in parentheses; time is "
                 "per iteration (a whole program run; BM_Alloc: 2^20 allocations); "
                 "x <baseline> = median over runs of gclab time / baseline time in the "
                 "same run")
    for note in notes:
        print("note: " + note)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
