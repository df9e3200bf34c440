#!/usr/bin/env bash
# options_sync.sh - every option of the load's table (src/cli/options.c) and
# of the export's (src/cli/cmd_export.c) is in --help, the man page and the
# README, and every option --help shows is one the parser takes: an option
# added to one and not the others fails here.
# Usage: options_sync.sh AMPLOAD SOURCE_DIR
set -u
bin=$1
src=$2
check_tree() {
python3 - "$bin" "$1" <<'EOF'
import re, subprocess, sys

bin, src = sys.argv[1], sys.argv[2]
fails = []

def read(path):
    return open(f"{src}/{path}", encoding="utf-8").read()

def table(path, start, end):
    text = read(path)
    body = text[text.index(start):]
    body = body[:body.index(end)]
    return set(re.findall(r'\{"([a-z0-9-]+)"', body))

def helptext(*args):
    out = subprocess.run([bin, *args], capture_output=True, text=True)
    return out.stdout + out.stderr

def shown(text):
    return set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]+)", text))

man = read("docs/man/ampload.1").replace("\\-", "-")
readme = read("README.md")
# not options of a command: the mock's, or words in prose
known_elsewhere = {"api-key"}  # refused on purpose (the key never in argv)

load = table("src/cli/options.c", "static const option_t options[] = {", "\n};")
export = table("src/cli/cmd_export.c", "static const struct option export_opts[] = {", "\n};")
if len(load) < 30 or len(export) < 10:
    fails.append(f"tables not found: {len(load)} load options, {len(export)} export options")

load_help = helptext("--help") + helptext("identify", "--help") + helptext("check", "--help")
export_help = helptext("export", "--help")
for name in sorted(load - known_elsewhere):
    for where, text in (("--help", load_help), ("the man page", man), ("README.md", readme)):
        if f"--{name}" not in text:
            fails.append(f"load option --{name} is not in {where}")
for name in sorted(export):
    for where, text in (("export --help", export_help), ("the man page", man), ("README.md", readme)):
        if f"--{name}" not in text:
            fails.append(f"export option --{name} is not in {where}")
# what --help shows, the parser takes
# (the main --help also shows the export's usage line)
for name in sorted(shown(helptext("--help")) - load - export - known_elsewhere):
    fails.append(f"--help shows --{name}, which the load does not take")
for name in sorted(shown(export_help) - export - load):
    fails.append(f"export --help shows --{name}, which export does not take")

for f in fails:
    print("FAIL:", f)
print(f"{len(load)} load and {len(export)} export options checked, {len(fails)} failed")
sys.exit(1 if fails else 0)
EOF
}
check_tree "$src" || exit 1
# the check itself: a row planted in the table, in no help, page or README,
# must fail it
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/cli" "$tmp/docs/man"
cp "$src/src/cli/cmd_export.c" "$tmp/src/cli/"
cp "$src/docs/man/ampload.1" "$tmp/docs/man/"
cp "$src/README.md" "$tmp/"
sed 's/^static const option_t options\[\] = {$/&\n    {"planted-option", 0, NULL, ARG_NONE, 0, 0, NULL},/' \
    "$src/src/cli/options.c" >"$tmp/src/cli/options.c"
if check_tree "$tmp" >"$tmp/out.txt"; then
    echo "FAIL: a planted option passed the check"
    exit 1
fi
grep -q 'load option --planted-option is not in --help' "$tmp/out.txt" ||
    { echo "FAIL: the planted option was not named: $(cat "$tmp/out.txt")"; exit 1; }
echo "a planted option is caught"
