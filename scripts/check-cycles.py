#!/usr/bin/env python3
"""check-cycles.py - no two modules depend on each other, even through others.

    scripts/check-cycles.py OBJECT...

Reads the symbols each object file defines and uses (nm) and fails, naming
the modules and one symbol of each dependency, when the modules (one object
file each: src/cli/main.c, src/core/send.c, ...) depend on each other in a
cycle. Calls through a shared header are invisible to an include check (every
CLI file includes cli.h), so this looks at what the linker sees. Exit 0 when
there is no cycle, 1 when there is, 2 when nm fails or no object is given.
"""
import importlib.util
import os
import subprocess
import sys

# one cycle search for both checks: check-layers.py's
_spec = importlib.util.spec_from_file_location(
    "check_layers", os.path.join(os.path.dirname(os.path.abspath(__file__)), "check-layers.py"))
_layers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_layers)
find_cycle = _layers.find_cycle


def module_of(obj):
    name = os.path.basename(obj)
    return name.split(".", 1)[0]


def main():
    defined, used = {}, {}
    # a CMake list ($<TARGET_OBJECTS:...>) arrives as one argument
    objs = [o for arg in sys.argv[1:] for o in arg.split(";") if o]
    if not objs:
        print("check-cycles: no object files given", file=sys.stderr)
        return 2
    for obj in objs:
        r = subprocess.run(["nm", obj], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"check-cycles: nm {obj}: {r.stderr.strip()}", file=sys.stderr)
            return 2
        mod = module_of(obj)
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBR":
                defined[parts[2]] = mod
            elif len(parts) == 2 and parts[0] == "U":
                used.setdefault(mod, set()).add(parts[1])
    # module -> {module it depends on: one symbol that makes it so}
    edges = {}
    for mod, syms in used.items():
        for s in sorted(syms):
            dep = defined.get(s)
            if dep is not None and dep != mod:
                edges.setdefault(mod, {}).setdefault(dep, s)

    cycle = find_cycle(edges)
    if cycle:
        steps = [f"{a} -> {b} ({edges[a][b]})" for a, b in zip(cycle, cycle[1:])]
        print("check-cycles: modules depend on each other: " + ", ".join(steps), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
