#!/usr/bin/env bash
# bench/plot.sh CSV [PNG] - chart of events/s per configuration from a
# bench/run.sh CSV (default output bench/out/bench.png). The cat and wc rows
# are left out: at tens of millions of "events"/s they would flatten the rest.
set -euo pipefail
csv=$1
png=${2:-bench/out/bench.png}
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
awk -F, 'NR > 1 && ($1 == "read" || $1 == "e2e") && $5 != "" && $2 !~ /^(cat|wc) / {
    printf "\"%s (%s thr)\" %s\n", $2, $3, $5 / 1e6 }' "$csv" >"$dat"
gnuplot <<PLOT
set terminal pngcairo size 1300,760 font "sans,10"
set output "$png"
set title "events/s per configuration, one run on $(nproc) cores (plain and zstd input, 1.1 GB)"
set style fill solid 0.8
set boxwidth 0.7
set ylabel "million events/s"
set yrange [0:*]
set xtics rotate by -40 left
set grid ytics
set bmargin 15
set rmargin 24
plot "$dat" using 0:2:xtic(1) with boxes notitle lc rgb "#3572a5", \
     "" using 0:(\$2 + 0.15):(sprintf("%.2f", \$2)) with labels notitle
PLOT
echo "chart: $png"
