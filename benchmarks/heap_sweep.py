#!/usr/bin/env python3
"""The heap-size sweep: time-space curves of every collector beside Boehm and mimalloc,
and MemBalancer against the growth factor (papers/7-heap-sizes.md).

Usage (tools/bench.sh heapsize runs it after building gc_benchmarks with -c opt):

    benchmarks/heap_sweep.py OUT_DIR [--runs N] [--factors 1.25,1.5,...] [--programs ...]

Three steps, each run of a program a process of its own (bazel-bin/benchmarks/
gc_benchmarks with --benchmark_filter picking one program on one memory manager):

1. Minimum heaps, as MMTk's running-ng finds them: for each program and each gclab
   collector (and Boehm), the smallest heap at which the program completes, by
   bisection (to within 2% or 256 KiB). The heap is fixed: GCLAB_HEAP_LIMIT caps the
   heap (HeapOptions::heap_limit: live bytes plus allocation; a copying collector's
   reserve is outside it) and GCLAB_POLICY=fixed=1024G makes the limit the only
   trigger, so the heap collects when it is full and fails when a full collection
   leaves no room. For Boehm the same variable sets GC_set_max_heap_size.
2. The sweep: each program's minimum heap is the smallest any gclab collector needs;
   every collector and Boehm run at 1.25x to 6x that size (`--runs` times each), and
   mimalloc (no collector, no limit) once per run as the reference. A run that fails
   at a size is recorded as failed, not dropped.
3. Policies: mark-sweep with its default 4 GiB limit under GrowthFactorPolicy
   (factors 1.5 to 6) and under MemBalancerPolicy (c from 3e-7 to 3e-10), recording
   total pause and peak RSS, for "memory at equal collection time".

Writes OUT_DIR/heapsize_sweep.json (every run, with its settings) and prints progress.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from summarize import TIME_UNIT_TO_MS  # benchmarks/summarize.py, beside this file

BINARY = "bazel-bin/benchmarks/gc_benchmarks"
PROGRAMS = {
    "GCBench": "BM_GCBench",
    "BinaryTrees": "BM_BinaryTrees",
    "Quads": "BM_Quads",
}
# Smaller than the gc suite's defaults, so that the sweep's few hundred runs take
# about half an hour: binary-trees of depth 18 (not 21), quads with 64 MiB of garbage
# per round (not 256).
PROGRAM_ENV = {"GCLAB_BINARY_TREES_DEPTH": "18", "GCLAB_QUADS_GARBAGE_MIB": "64"}
UNBOUNDED_POLICY = "fixed=1024G"
MIB = 1 << 20
GROWTH_FACTORS = [1.5, 2, 3, 4, 6]
MEMBALANCER_C = [3e-7, 1e-7, 3e-8, 1e-8, 3e-9, 1e-9, 3e-10]
POLICY_COLLECTOR = "mark-sweep"


def run(program, system, env_extra, timeout=300):
    """One run of `program` on `system`; its benchmark entry, or None if it failed."""
    env = dict(os.environ)
    env.pop("GCLAB_STRESS", None)
    env.update(PROGRAM_ENV)
    env.update(env_extra)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    try:
        proc = subprocess.run(
            [BINARY, f"--benchmark_filter=^{PROGRAMS[program]}/{system}/",
             f"--benchmark_out={out}", "--benchmark_out_format=json"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
        if proc.returncode != 0:
            return None
        with open(out) as f:
            data = json.load(f)
    except (subprocess.TimeoutExpired, json.JSONDecodeError, OSError):
        return None
    finally:
        if os.path.exists(out):
            os.unlink(out)
    entries = [b for b in data.get("benchmarks", []) if b.get("run_type") != "aggregate"]
    if len(entries) != 1 or entries[0].get("error_occurred"):
        return None
    b = entries[0]
    return {
        "time_ms": b["real_time"] * TIME_UNIT_TO_MS[b.get("time_unit", "ns")],
        "collections": b.get("collections"),
        "pause_ms": b.get("pause_ms"),
        "peak_rss_mb": b.get("peak_rss_mb"),
        "rss_start_mb": b.get("rss_start_mb"),
    }


def fixed_heap_env(system, heap_bytes):
    env = {"GCLAB_HEAP_LIMIT": str(heap_bytes)}
    if system != "boehm":
        env["GCLAB_POLICY"] = UNBOUNDED_POLICY
    return env


def minimum_heap(program, system, log):
    """The smallest fixed heap (bytes) at which the program completes, by bisection."""
    def ok(heap):
        result = run(program, system, fixed_heap_env(system, heap))
        log.append({"program": program, "system": system, "heap_bytes": heap,
                    "ok": result is not None})
        return result is not None

    hi = 16 * MIB
    while not ok(hi):
        hi *= 2
        if hi > 16 << 30:
            return None
    lo = hi // 2 if hi > 16 * MIB else MIB
    while hi - lo > max(256 << 10, hi // 50):
        mid = (lo + hi) // 2 // (64 << 10) * (64 << 10)
        if mid <= lo:
            break
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def collectors():
    out = subprocess.run([BINARY, "--benchmark_list_tests=true",
                          "--benchmark_filter=^BM_GCBench/"],
                         capture_output=True, text=True, check=True).stdout.split()
    names = [n.split("/")[1] for n in out]
    baselines = {"new-delete", "boehm", "mimalloc", "mimalloc-dlopen", "shared_ptr"}
    return [n for n in names if n not in baselines]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--factors", default="1.25,1.5,2,3,4,6")
    parser.add_argument("--programs", default=",".join(PROGRAMS))
    args = parser.parse_args()
    factors = [float(f) for f in args.factors.split(",")]
    programs = args.programs.split(",")
    gclab = collectors()
    started = time.time()
    result = {
        "settings": {"runs": args.runs, "factors": factors, "programs": programs,
                     "program_env": PROGRAM_ENV, "unbounded_policy": UNBOUNDED_POLICY,
                     "collectors": gclab, "policy_collector": POLICY_COLLECTOR,
                     "growth_factors": GROWTH_FACTORS, "membalancer_c": MEMBALANCER_C},
        "bisection": [], "min_heap": {}, "common_min": {}, "sweep": [], "policies": [],
    }

    def progress(text):
        print(f"[{time.time() - started:6.0f} s] {text}", flush=True)

    for program in programs:
        mins = {}
        for system in gclab + ["boehm"]:
            mins[system] = minimum_heap(program, system, result["bisection"])
            progress(f"{program}/{system}: minimum heap "
                     f"{'-' if mins[system] is None else f'{mins[system] / MIB:.1f} MiB'}")
        result["min_heap"][program] = mins
        found = [v for k, v in mins.items() if k in gclab and v is not None]
        if not found:
            continue
        common = min(found)
        result["common_min"][program] = common
        for r in range(1, args.runs + 1):
            entry = run(program, "mimalloc", {})
            result["sweep"].append({"program": program, "system": "mimalloc", "factor": None,
                                    "heap_bytes": None, "run": r, "ok": entry is not None,
                                    **(entry or {})})
            for factor in factors:
                heap = int(common * factor) // 4096 * 4096
                for system in gclab + ["boehm"]:
                    entry = run(program, system, fixed_heap_env(system, heap))
                    result["sweep"].append({"program": program, "system": system,
                                            "factor": factor, "heap_bytes": heap, "run": r,
                                            "ok": entry is not None, **(entry or {})})
            progress(f"{program}: sweep run {r} of {args.runs} done")
        for r in range(1, args.runs + 1):
            for kind, values in (("growth", GROWTH_FACTORS), ("membalancer", MEMBALANCER_C)):
                for value in values:
                    entry = run(program, POLICY_COLLECTOR, {"GCLAB_POLICY": f"{kind}={value}"})
                    result["policies"].append({"program": program, "collector": POLICY_COLLECTOR,
                                               "policy": kind, "value": value, "run": r,
                                               "ok": entry is not None, **(entry or {})})
            progress(f"{program}: policies run {r} of {args.runs} done")
    result["seconds"] = time.time() - started
    path = os.path.join(args.out_dir, "heapsize_sweep.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    progress(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
