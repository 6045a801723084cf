#!/usr/bin/env python3
"""Prints the reclamation benchmark's results (reclamation_benchmarks' Google Benchmark
JSON) as readable tables: one row per memory size, collector and policy, beside the
manual-free ideal; then the address-space exhaustion scenario.

Usage:
  python3 benchmarks/reclamation_table.py run1.json [run2.json ...] [--markdown]

With several files (runs), each figure is the median over the runs and the
throughput and peak columns show the range. Ratios to the manual-free ideal are taken
within each file, where both were measured side by side in one process, and their
median is shown.
"""

import argparse
import json
import statistics
import sys


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        name = b["name"]
        for suffix in ("/manual_time", "/iterations:1"):
            name = name.replace(suffix, "")
        runs[name] = b
    return data.get("context", {}), runs


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0, suffix=""):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def rng(values, digits=0):
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return ""
    return f" ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def lag_text(lag):
    # -1: no memory came back during the loop (only the final collection freed them).
    return "end" if lag is not None and lag < 0 else fmt(lag, 1)


def table(header, rows, markdown):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = []
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            lines.append("| " + " | ".join(str(c) for c in r) + " |")
    else:
        lines.append("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
        lines.append("  ".join("-" * w for w in widths))
        for r in rows:
            lines.append("  ".join(str(c).rjust(w) if i > 2 else str(c).ljust(w)
                                   for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    loaded = [load(p) for p in args.files]
    context = loaded[0][0]
    files = [runs for _, runs in loaded]

    names = []
    for runs in files:
        for name in runs:
            if name not in names:
                names.append(name)

    def counter(name, key):
        return [r[name].get(key) for r in files if name in r and not r[name].get("error_occurred")]

    def ratio(name, other, key, invert=False):
        values = []
        for r in files:
            if name in r and other in r and not r[name].get("error_occurred"):
                a, b = r[name].get(key), r[other].get(key)
                if a and b:
                    values.append(b / a if invert else a / b)
        return med(values)

    print(f"Linear-memory reclamation: keep K={context.get('live', '?')} instances, "
          f"touch {float(context.get('touch', 0)) * 100:.0f}% of each memory's pages, "
          f"instantiations per run: {context.get('iterations', '?')}; "
          f"{len(files)} run(s), medians.")
    print("ideal = (K+1) x touched size; peak = resident set above the start; lag = "
          "iterations from a drop to the pages going back; return = final drop to all "
          "pages back.\n")
    header = ["size", "collector", "policy", "inst/s", "x manual", "peak MiB", "x ideal",
              "reserv.", "GCs", "pause ms", "lag", "return ms", "release GiB/s", "x unmap"]
    rows = []
    errors = []
    for name in names:
        parts = name.split("/")
        if parts[0] != "BM_Reclaim":
            continue
        for r in files:
            if name in r and r[name].get("error_occurred"):
                errors.append(f"{name}: {r[name].get('error_message', '')}")
        size = parts[-1]
        manual = f"BM_Reclaim/manual-free/{size}"
        if parts[1] in ("manual-free", "shared_ptr", "boehm"):
            collector, policy = "-", parts[1]
        else:
            collector, policy = parts[1], parts[2]
        inst = counter(name, "instances_per_s")
        peak = counter(name, "peak_mb")
        rows.append([
            size, collector, policy,
            fmt(med(inst), 1) + rng(inst, 1),
            fmt(ratio(name, manual, "instances_per_s"), 2, "x"),
            fmt(med(peak)) + rng(peak),
            fmt(med(counter(name, "rss_ratio")), 2, "x"),
            fmt(med(counter(name, "peak_reservations"))),
            fmt(med(counter(name, "collections"))),
            fmt(med(counter(name, "pause_ms")), 1),
            lag_text(med(counter(name, "lag_iters"))),
            fmt(med(counter(name, "return_ms")), 1),
            fmt(med(counter(name, "release_gib_s")), 1),
            fmt(ratio(name, manual, "release_gib_s"), 2, "x"),
        ])
    if rows:
        print(table(header, rows, args.markdown))

    header = ["collector", "engine", "instances", "failed at", "peak reserv.", "TiB",
              "GCs", "inst/s", "result"]
    rows = []
    for name in names:
        parts = name.split("/")
        if parts[0] != "BM_Exhaustion":
            continue
        made = counter(name, "instances")
        failed = counter(name, "failed_at")
        label = next((r[name].get("label", "") for r in files if name in r), "")
        if label.startswith("failed:"):
            label = "ResourceExhausted" + (" (budget)" if "budget" in label else " (mmap)")
        rows.append([
            parts[1], parts[2], fmt(med(made)),
            fmt(med(failed)) if med(failed) else "-",
            fmt(med(counter(name, "peak_reservations"))),
            fmt(med(counter(name, "peak_reserved_tib")), 1),
            fmt(med(counter(name, "exhaustion_collections"))),
            fmt(med(counter(name, "instances_per_s"))),
            label if label else "all made",
        ])
    if rows:
        print("\nAddress-space exhaustion: instantiate and drop 1-page instances with "
              "10 GiB reservations; no accounting, so only a failed reservation can "
              "start a collection.\n")
        print(table(header, rows, args.markdown))
    if errors:
        print("\nErrors:\n" + "\n".join(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
