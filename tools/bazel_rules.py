#!/usr/bin/env python3
"""Reads rules from a BUILD file, for the CMake build (CMakeLists.txt).

The CMake build registers the same tests as Bazel; this reads what the BUILD files say
about them so that it is written once. BUILD files are Starlark, which for these rules
is Python: the file runs with stand-ins for the rules.

    tools/bazel_rules.py shards tests/BUILD
        # one line per rule with a shard_count: "NAME COUNT"
    tools/bazel_rules.py smoke benchmarks/BUILD gc_benchmarks_smoke_test
        # line 1: the sh_test's args less the first (the binary's $(location)),
        #         shell-quoted; line 2: its env, NAME=VALUE;NAME=VALUE
"""
import shlex
import sys


def read_rules(path):
    rules = {}

    def record(**kwargs):
        rules[kwargs.get("name")] = kwargs

    stand_ins = {rule: record for rule in ("cc_binary", "cc_library", "cc_test", "sh_test",
                                           "sh_binary", "py_binary", "filegroup")}
    stand_ins["glob"] = lambda *args, **kwargs: []
    stand_ins["package"] = lambda **kwargs: None
    exec(compile(open(path).read(), path, "exec"), stand_ins)
    return rules


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "shards":
        for name, rule in sorted(read_rules(sys.argv[2]).items()):
            if rule.get("shard_count", 1) > 1:
                print(name, rule["shard_count"])
        return
    if len(sys.argv) == 4 and sys.argv[1] == "smoke":
        path, name = sys.argv[2], sys.argv[3]
        rule = read_rules(path).get(name)
        if rule is None:
            sys.exit(f"bazel_rules.py: no rule {name} in {path}")
        args = rule.get("args", [])
        if not args or not args[0].startswith("$(location"):
            sys.exit(f"bazel_rules.py: {name}'s first argument is not the binary's $(location)")
        print(" ".join(shlex.quote(a) for a in args[1:]))
        print(";".join(f"{k}={v}" for k, v in sorted(rule.get("env", {}).items())))
        return
    sys.exit("usage: bazel_rules.py shards BUILD | bazel_rules.py smoke BUILD sh_test-name")


if __name__ == "__main__":
    main()
