#!/usr/bin/env python3
"""check-layers.py - the layering of src/core, checked.

    scripts/check-layers.py [CORE_DIR]     (default: src/core of this tree)

Reads CORE_DIR/LAYERS (layers lowest first, each with its modules) and every
#include "..." in CORE_DIR/*.c, *.h and *.inc. Fails, naming the file, line
and include, when a module includes a header of a higher layer, a header
that is not a core module (src/core never includes the CLI), or when a file
belongs to no layer; fails on an include cycle between modules, and on a
module LAYERS names that has no file. When CORE_DIR/../../docs/DESIGN.md
exists, its table of layers must list the same modules. Exit 0 when clean, 1 on a violation,
2 when the map cannot be read.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
SUFFIXES = (".c", ".h", ".inc")


def module_of(name):
    for s in SUFFIXES:
        if name.endswith(s):
            return name[: -len(s)]
    return None


def read_map(path, errors):
    """@return (layer names lowest first, {module: layer index})."""
    layers, rank = [], {}
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, sep, mods = line.partition(":")
            if not sep or not name.strip():
                errors.append(f"{path}:{no}: expected 'layer: module ...'")
                continue
            layers.append(name.strip())
            for m in mods.split():
                if m in rank:
                    errors.append(f"{path}:{no}: module {m} is listed twice")
                rank[m] = len(layers) - 1
    return layers, rank


def find_cycle(edges):
    """@return one include cycle between modules as a list, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(edges.get(m, ())):
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
            found = visit(m)
            if found:
                return found
    return None


def check_design(design, layers, rank, errors):
    """The table of layers in DESIGN.md lists what LAYERS says."""
    rows = {}
    with open(design, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("|") and len(cells) >= 2 and cells[0] in layers:
                rows[cells[0]] = {module_of(n) or n for n in re.findall(r"`([^`]+)`", cells[-1])}
    for i, name in enumerate(layers):
        want = {m for m, r in rank.items() if r == i}
        if rows.get(name) != want:
            errors.append(
                f"{design}: the layer {name} lists {sorted(rows.get(name, ()))}, "
                f"LAYERS {sorted(want)}"
            )


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    core = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src", "core")
    core = os.path.normpath(core)
    map_path = os.path.join(core, "LAYERS")
    errors = []
    try:
        layers, rank = read_map(map_path, errors)
    except OSError as e:
        print(f"check-layers: cannot read {map_path}: {e.strerror}", file=sys.stderr)
        return 2

    files = sorted(f for f in os.listdir(core) if module_of(f) is not None)
    present = {module_of(f) for f in files}
    for m in sorted(set(rank) - present):
        errors.append(f"{map_path}: module {m} has no file in {core}")

    edges = {}
    for f in files:
        mod = module_of(f)
        path = os.path.join(core, f)
        if mod not in rank:
            errors.append(f"{path}: module {mod} is in no layer of {map_path}")
            continue
        with open(path, encoding="utf-8") as src:
            for no, line in enumerate(src, 1):
                hit = INCLUDE.match(line)
                if not hit:
                    continue
                inc = hit.group(1)
                target = module_of(inc)
                where = f'{path}:{no}: #include "{inc}"'
                if "/" in inc or target not in present:
                    errors.append(f"{where}: not a module of {core}")
                    continue
                if target not in rank:
                    continue  # reported above, as a file in no layer
                if target != mod:
                    edges.setdefault(mod, set()).add(target)
                if rank[target] > rank[mod]:
                    errors.append(
                        f"{where}: {mod} ({layers[rank[mod]]}) includes "
                        f"{target} of a higher layer ({layers[rank[target]]})"
                    )

    design = os.path.join(core, "..", "..", "docs", "DESIGN.md")
    if os.path.exists(design):
        check_design(os.path.normpath(design), layers, rank, errors)

    cycle = find_cycle(edges)
    if cycle:
        errors.append(f"{core}: include cycle: {' -> '.join(cycle)}")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check-layers: {len(errors)} violation(s); the layers are in {map_path}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
