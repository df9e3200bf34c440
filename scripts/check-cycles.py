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
import os
import subprocess
import sys


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

    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(edges.get(m, {})):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state:
            cycle = visit(m)
            if cycle:
                steps = [f"{a} -> {b} ({edges[a][b]})" for a, b in zip(cycle, cycle[1:])]
                print("check-cycles: modules depend on each other: " + ", ".join(steps),
                      file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
