#!/usr/bin/env python3
"""check-state-names.py - every file name of the state directory is spelled
in one source file: the layout table of src/core/statedir.c.

Reads the names from that table, then every C string literal of src/
(statedir.c aside) and fails on one that builds a path to such a file: a
literal that is the name itself, or ends in "/NAME" (as "%s/NAME" does).
Prose that mentions a file (help text, comments) is not a path and passes.

Usage: check-state-names.py [SRC_DIR]   (default: src)
Exit: 0 clean, 1 a name spelled elsewhere, 2 the table cannot be read.
"""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "src"
owner = os.path.join(src, "core", "statedir.c")
try:
    table = open(owner, encoding="utf-8").read()
except OSError as e:
    print(f"check-state-names: cannot read {owner}: {e}")
    sys.exit(2)
names = re.findall(r'\[AL_STATE_[A-Z_]+\]\s*=\s*\{"([^"]+)"', table)
if len(names) < 8:
    print(f"check-state-names: the layout table of {owner} was not found ({len(names)} names)")
    sys.exit(2)

literal = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
comment = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
fails = []
for root, _, files in os.walk(src):
    for f in sorted(files):
        path = os.path.join(root, f)
        if not f.endswith((".c", ".h", ".inc")) or os.path.samefile(path, owner):
            continue
        text = open(path, encoding="utf-8").read()
        # comments out, keeping line numbers
        text = comment.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
        for m in literal.finditer(text):
            s = m.group(1)
            for name in names:
                if s == name or s.endswith("/" + name):
                    line = text.count("\n", 0, m.start()) + 1
                    fails.append(f"{path}:{line}: \"{s}\" names the state file {name}; "
                                 f"ask statedir.h for it (al_state_path, al_state_name)")
for f in fails:
    print(f)
print(f"check-state-names: {len(names)} file names, {len(fails)} spelled outside {owner}")
sys.exit(1 if fails else 0)
