#!/usr/bin/env python3
"""Writes the heap fuzzer's seed corpus (tests/fuzz/corpus/), deterministically.

Each seed is a heap program in the format of tests/fuzz/heap_program.h: seven
configuration bytes, then operations (an opcode and its argument bytes). Every theme
below is written once per collector, with configurations that vary the scheduler, the
trigger policy, the heap limit and the stress interval, so the corpus runs every
operation on every collector.

  python3 tests/fuzz/make_seeds.py            # rewrites tests/fuzz/corpus/
  python3 tests/fuzz/make_seeds.py OUT_DIR    # somewhere else

OPS must list the operations in the order of the Op enum in heap_program.cc, with the
number of argument bytes each reads.
"""

import os
import random
import sys

OPS = [
    ("Alloc", 4), ("AllocLarge", 4), ("SetField", 3), ("LoadField", 2), ("SetWeak", 3),
    ("LoadWeak", 3), ("OpenScope", 1), ("CloseScope", 0), ("Escape", 1),
    ("PersistentSet", 2), ("PersistentLoad", 1), ("WeakPersistentSet", 2),
    ("WeakPersistentLoad", 2), ("WeakRefCreate", 1), ("WeakRefDeref", 2), ("ClearKept", 0),
    ("TableNew", 1), ("TableSet", 3), ("TableGet", 3), ("TableDelete", 2), ("PairCreate", 2),
    ("PairRead", 2), ("RegistryCreate", 0), ("Register", 7), ("Unregister", 2), ("Pump", 0),
    ("Collect", 0), ("TryNewAtLimit", 2), ("MemoryCreate", 2), ("InstanceCreate", 3),
    ("MemoryGrow", 2), ("ViewCreate", 4), ("ViewAccess", 5), ("MemoryAccess", 6),
    ("InstanceMemory", 2), ("Resurrect", 2), ("RetainingPath", 2), ("CheckAll", 0),
    ("SetScheduler", 2), ("ExternalMemory", 1), ("Keep", 2),
]
OPCODE = {name: i for i, (name, _) in enumerate(OPS)}
ARGS = dict(OPS)

# Byte 0 indexes AllCollectors() (sorted by name) modulo its size, so what a seed's
# byte 0 names shifts as collectors are registered; the file names say which collector
# each seed was written for. The regression test runs every seed on every registered
# collector whatever its byte 0 says, and the fuzzer mutates byte 0 anyway.
COLLECTORS = ["mark-sweep", "semispace"]
SCHEDULERS = ["after-collection", "host-jobs", "randomized", "never"]


def config(collector, scheduler, *, naive=False, destroy_with_roots=False, seed=1, drop=0,
           delay=0, policy=0, limit_mib=2, every=0, pool=False, reservations=2,
           collect_on_exhaustion=True, pool_capacity=1):
    """The seven configuration bytes (heap_program.h)."""
    b1 = (1 if naive else 0) | (2 if destroy_with_roots else 0)
    b3 = (seed & 0xF0) | (drop & 3) | ((delay & 3) << 2)
    b4 = (policy & 3) | (((limit_mib - 1) & 3) << 2)
    b5 = 0x80 | (every - 1) if every else 0
    b6 = ((1 if pool else 0) | (((reservations - 1) & 3) << 1) |
          (0 if collect_on_exhaustion else 8) | ((pool_capacity & 3) << 4))
    return bytes([collector, b1, scheduler, b3, b4, b5, b6])


def program(ops):
    out = bytearray()
    for name, *args in ops:
        if len(args) != ARGS[name]:
            raise ValueError(f"{name} takes {ARGS[name]} argument bytes, got {args}")
        out.append(OPCODE[name])
        out.extend(a & 0xFF for a in args)
    return bytes(out)


def objects():
    """Every size class and the large-object space, fields, arrays, garbage."""
    ops = []
    for t in range(0, 88, 3):
        ops.append(("Alloc", t, t % 3, t, t // 2))  # keep, drop, or store in a field
    ops += [("AllocLarge", 1, 0, 0, 0), ("AllocLarge", 6, 2, 3, 1), ("Alloc", 87, 0, 0, 5)]
    for i in range(12):
        ops += [("SetField", i * 5, i, i * 7), ("LoadField", i * 3, i)]
    ops += [("Collect",), ("CheckAll",)]
    for i in range(8):
        ops += [("SetField", i * 11, i, 7), ("Alloc", i * 9 + 1, 2, i, i)]
    ops += [("Collect",), ("RetainingPath", 3, 0), ("Collect",)]
    return ops


def scopes():
    """HandleScopes, EscapableHandleScopes and Persistents."""
    ops = [("Alloc", 10, 0, 0, 0), ("PersistentSet", 0, 0)]
    for depth in range(4):
        ops += [("OpenScope", depth), ("Alloc", 20 + depth, 0, 0, 0), ("Alloc", 31, 0, 0, 3),
                ("SetField", depth, 0, depth + 1)]
    ops += [("Escape", 2), ("CloseScope",), ("Collect",), ("CloseScope",), ("Escape", 0),
            ("CloseScope",), ("PersistentSet", 1, 3), ("PersistentSet", 2, 7), ("Collect",),
            ("CloseScope",), ("PersistentLoad", 1), ("PersistentLoad", 9), ("Collect",),
            ("PersistentSet", 1, 7), ("Collect",), ("CheckAll",)]
    return ops


def weak():
    """WeakMember, WeakPersistent, WeakRef with kept objects."""
    ops = [("Alloc", 18, 0, 0, 0), ("Alloc", 40, 0, 0, 0), ("OpenScope", 0)]
    for i in range(6):
        ops += [("Alloc", 5 + 4 * i, 0, 0, 0), ("SetWeak", 0, i, 2 + i),
                ("WeakPersistentSet", i, 3 + i), ("WeakRefCreate", 2 + i)]
    ops += [("PersistentSet", 0, 6), ("CloseScope",), ("Collect",), ("WeakRefDeref", 0, 1),
            ("WeakRefDeref", 1, 0), ("ClearKept",), ("Collect",)]
    for i in range(6):
        ops += [("LoadWeak", 0, i, i), ("WeakPersistentLoad", i, 1), ("WeakRefDeref", i, 0)]
    ops += [("ClearKept",), ("Collect",), ("LoadWeak", 1, 0, 1), ("CheckAll",)]
    return ops


def tables():
    """WeakMap and WeakSet, ephemeron pairs, tables inside tables and objects."""
    ops = [("TableNew", 0), ("TableNew", 1), ("TableNew", 0), ("Alloc", 30, 0, 0, 0),
           ("OpenScope", 0)]
    for i in range(8):
        ops += [("Alloc", 3 + 6 * i, 0, 0, 0), ("Alloc", 7 + 6 * i, 0, 0, 0),
                ("TableSet", i, 4 + i, 5 + i), ("TableSet", 1, 5 + i, 0),
                ("PairCreate", 4 + i, 5 + i)]
    ops += [("TableSet", 0, 3, 2), ("SetField", 3, 0, 2), ("PersistentSet", 0, 0),
            ("PersistentSet", 1, 3), ("PersistentSet", 2, 5), ("CloseScope",), ("Collect",)]
    for i in range(8):
        ops += [("TableGet", i, i * 3, 1), ("PairRead", i, i), ("TableDelete", i + 1, i * 5)]
    ops += [("Collect",), ("Resurrect", 5, 0), ("TableGet", 0, 0, 1), ("Collect",),
            ("CheckAll",)]
    return ops


def finalization(action_base):
    """Registries, registrations with and without tokens, unregistering, pumping."""
    ops = [("RegistryCreate",), ("RegistryCreate",), ("PersistentSet", 0, 0),
           ("OpenScope", 0)]
    for i in range(10):
        ops += [("Alloc", 2 + 8 * i, 0, 0, 0),
                ("Register", i, 2 + i, i % 3, i + 1, i % 3, i + 3, action_base + 7 * i)]
    ops += [("Unregister", 0, 4), ("Unregister", 1, 9), ("CloseScope",), ("Collect",),
            ("Pump",), ("Unregister", 0, 0), ("Collect",), ("Pump",), ("Collect",),
            ("Pump",), ("RegistryCreate",), ("Alloc", 12, 0, 0, 0),
            ("Register", 1, 2, 1, 1, 2, 0, 1), ("WeakRefCreate", 3), ("OpenScope", 0),
            ("Alloc", 14, 0, 0, 0), ("Register", 1, 9, 0, 0, 1, 0, 6 + 8 * 6),
            ("Alloc", 16, 0, 0, 0), ("Register", 2, 9, 0, 0, 0, 0, 7), ("CloseScope",),
            ("SetScheduler", action_base + 1, 3), ("Collect",), ("SetScheduler", 1, 0),
            ("Pump",), ("Collect",), ("Pump",), ("CheckAll",)]
    return ops


def linear_memory():
    """Memories, instances, grow, views, bytes written and read back."""
    ops = [("MemoryCreate", 1, 3), ("MemoryCreate", 2, 1), ("MemoryCreate", 0, 0),
           ("InstanceCreate", 1, 0x05, 0x0A), ("InstanceMemory", 0, 1)]
    for i in range(6):
        ops += [("MemoryAccess", i, i * 97, i >> 1, 20, i * 13, 1),
                ("ViewCreate", i, i, i * 4, i + 1),
                ("ViewAccess", i, i * 5, 0, 0x40 + i, 1)]
    ops += [("MemoryGrow", 0, 1), ("MemoryGrow", 1, 3), ("Collect",), ("MemoryGrow", 2, 2)]
    for i in range(6):
        ops += [("ViewAccess", i, i * 5, 0, 0, 0), ("MemoryAccess", i, i * 97, i >> 1, 20, 0, 0)]
    ops += [("CloseScope",), ("OpenScope", 0), ("MemoryCreate", 1, 0), ("MemoryCreate", 1, 0),
            ("CloseScope",), ("Collect",), ("MemoryCreate", 0, 5), ("ExternalMemory", 201),
            ("ExternalMemory", 255), ("MemoryGrow", 0, 1), ("ExternalMemory", 100),
            ("CheckAll",)]
    return ops


def limit():
    """Large objects up to the heap limit: TryNew succeeds or is ResourceExhausted."""
    ops = []
    for i in range(6):
        ops += [("TryNewAtLimit", 7, i), ("AllocLarge", 6 + i, i % 2, 0, 0)]
    ops += [("Collect",), ("TryNewAtLimit", 7, 7), ("CheckAll",)]
    return ops


def resurrect():
    """Weakly held objects read back before a collection, and retaining paths."""
    ops = [("TableNew", 0), ("OpenScope", 0)]
    for i in range(6):
        ops += [("Alloc", 9 + 2 * i, 0, 0, 0), ("TableSet", 0, 1 + i, 0), ("PairCreate", 1 + i, 0)]
    ops += [("CloseScope",)]
    for i in range(6):
        ops += [("RetainingPath", 3 * i, 0), ("Resurrect", 2 * i + 1, 0)]
    ops += [("Keep", 3, 0), ("Keep", 8, 0), ("Collect",), ("CheckAll",)]
    for i in range(6):
        ops += [("RetainingPath", 5 * i, 0)]
    ops += [("ClearKept",), ("Collect",), ("RetainingPath", 1, 0)]
    return ops


def registry_dies():
    """A registry collected while its deliveries wait for the host's job loop."""
    return [("OpenScope", 0), ("RegistryCreate",), ("OpenScope", 0), ("Alloc", 6, 0, 0, 0),
            ("Register", 0, 1, 1, 1, 0, 0, 0), ("Alloc", 8, 0, 0, 0),
            ("Register", 0, 3, 0, 0, 1, 0, 1), ("CloseScope",), ("Collect",), ("CloseScope",),
            ("Collect",), ("Pump",), ("Collect",), ("Pump",), ("CheckAll",)]


def out_of_memory():
    """A heap filled to its limit (1 MiB): tables, weak refs, pairs and registries fail
    to allocate; constructors that allocate pass the budget, then the limit."""
    ops = [("AllocLarge", 6, 0, 0, 0)] * 5 + [("AllocLarge", 2, 0, 0, 0)] * 2
    ops += [("TableNew", 0), ("TableNew", 1), ("WeakRefCreate", 1), ("PairCreate", 0, 1),
            ("RegistryCreate",), ("Alloc", 0, 0, 0, 0), ("TryNewAtLimit", 1, 0),
            ("MemoryCreate", 1, 2), ("Collect",), ("OpenScope", 0), ("Alloc", 0, 0, 0, 0),
            ("CloseScope",)]
    # Free the heap, then nests: children past the budget, then past the limit.
    ops += [("CloseScope",), ("Collect",), ("Alloc", 90, 0, 0, 85), ("Alloc", 90, 0, 0, 84),
            ("Alloc", 90, 1, 0, 87), ("Collect",), ("CheckAll",)]
    return ops


def churn():
    """Many dead objects of many size classes, sparse survivors in an array: pages die
    whole and are reused, survivors pin pages (fragmentation), the limit is reached."""
    ops = [("Alloc", 87, 0, 0, 8)]  # an array of 8 references
    for i in range(300):
        t = (i * 7) % 78
        if i % 37 == 0:
            ops.append(("Alloc", t, 2, 0, i))  # a survivor, stored in the array
        else:
            ops.append(("Alloc", t | 1 if i % 2 else t, 1, 0, 0))
    ops += [("Collect",), ("TryNewAtLimit", 7, 8), ("TryNewAtLimit", 7, 6), ("CheckAll",)]
    return ops


def random_program(seed, length):
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(length))


def seeds():
    themes = [("objects", objects()), ("scopes", scopes()), ("weak", weak()),
              ("tables", tables()), ("finalization", None), ("linear_memory", linear_memory()),
              ("limit", limit()), ("resurrect", resurrect())]
    extra = [("registry_dies", registry_dies(), config(0, 1)),
             ("out_of_memory", out_of_memory(), config(0, 0, policy=1, limit_mib=1)),
             ("churn", churn(), config(0, 0, policy=1, limit_mib=1, every=16))]
    for c, collector in enumerate(COLLECTORS):
        for t, (theme, ops) in enumerate(themes):
            scheduler = (c + t) % len(SCHEDULERS)
            cfg = config(c, scheduler, naive=(t + c) % 3 == 0, destroy_with_roots=t % 4 == 3,
                         seed=16 * t + c, drop=t % 4, delay=t % 4, policy=(t + c) % 4,
                         limit_mib=1 + (t % 4), every=[0, 1, 7, 0, 33][(t + c) % 5],
                         pool=t % 2 == 1, reservations=1 + (t + c) % 4,
                         collect_on_exhaustion=t != 5 or c == 0, pool_capacity=t % 4)
            if theme == "finalization":
                # Every scheduler on every collector; callbacks that allocate and collect.
                for s, scheduler in enumerate(SCHEDULERS):
                    cfg = config(c, s, seed=17 * s + 1, drop=2 if s == 2 else 0, delay=s,
                                 every=[0, 5, 0, 2][s], policy=s)
                    yield f"{collector}-finalization-{scheduler}", cfg + program(finalization(s))
                continue
            yield f"{collector}-{theme}", cfg + program(ops)
        for theme, ops, cfg in extra:
            yield f"{collector}-{theme}", bytes([c]) + cfg[1:] + program(ops)
        yield f"{collector}-random", bytes([c]) + random_program(1000 + c, 600)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(list(seeds()))} seeds to {out}")


if __name__ == "__main__":
    main()
