#!/usr/bin/env bash
# One training step of the reference CNN in nasc (burn Flex) and, when PyTorch is installed, in
# PyTorch, on this machine in one go, with the ratio. Figures are recorded in docs/benchmarks.md.
#
#     benches/train_step.sh
#
# Environment: RAYON_NUM_THREADS (threads for both, default 2), NASC_BENCH_STEPS (timed steps per
# run, default 30), ROUNDS (nasc and PyTorch run alternately this many times, default 3, so that
# a load that comes and goes hits both; the ratio of the medians is printed for each round and
# the median over the rounds at the end), NASC_BENCH_OPS=1 (also time the convolutions alone).
# On a loaded machine the medians mislead: PyTorch's OpenMP threads wait on each other when
# another process holds a core and its steps then take several times longer, while burn's rayon
# pool degrades gently; the ratio of the fastest steps is printed too. Measure on an idle machine.
# PyTorch is not a dependency of the project: `pip install torch` to compare.
set -euo pipefail
cd "$(dirname "$0")/.."

threads="${RAYON_NUM_THREADS:-2}"
steps="${NASC_BENCH_STEPS:-30}"
rounds="${ROUNDS:-3}"
export RAYON_NUM_THREADS="$threads" NASC_BENCH_STEPS="$steps"

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), threads $threads"
echo "load before build: $(cut -d' ' -f1-3 /proc/loadavg)"

exe="$(cargo bench --bench train_step --no-run 2>&1 | tee /dev/stderr | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)"
if [ -z "$exe" ] || [ ! -x "$exe" ]; then
    echo "could not build the train_step bench" >&2
    exit 1
fi

torch=no
if python3 -c "import torch" >/dev/null 2>&1; then
    torch=yes
else
    echo "PyTorch is not installed (python3 -c 'import torch' fails): timing nasc only"
fi

field() { # field NAME LINE: the value of NAME=... in a RESULT line
    sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"
}
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

load1="$(cut -d' ' -f1 /proc/loadavg)"
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 4) }'; then
    echo "warning: the machine is busy (load $load1 on $(nproc) cores): the figures are upper bounds and PyTorch's"
    echo "         multi-threaded ones suffer most; RAYON_NUM_THREADS=1 compares more fairly on a busy machine"
fi

ratios=()
for round in $(seq 1 "$rounds"); do
    echo
    echo "== round $round of $rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
    nasc_out="$("$exe" --bench)"
    echo "$nasc_out"
    nasc="$(grep '^RESULT nasc' <<<"$nasc_out")"
    if [ "$torch" = yes ]; then
        torch_out="$(python3 -W ignore benches/train_step_torch.py --steps "$steps" --threads "$threads" ${NASC_BENCH_OPS:+--ops})"
        echo "$torch_out"
        pt="$(grep '^RESULT torch' <<<"$torch_out")"
        r="$(ratio "$(field step_ms "$nasc")" "$(field step_ms "$pt")")"
        ratios+=("$r")
        echo "ratio nasc/PyTorch (medians): step $r, forward $(ratio "$(field forward_ms "$nasc")" "$(field forward_ms "$pt")"), backward $(ratio "$(field backward_ms "$nasc")" "$(field backward_ms "$pt")")"
        echo "ratio nasc/PyTorch (fastest steps): $(ratio "$(field step_min_ms "$nasc")" "$(field step_min_ms "$pt")")"
    fi
    echo "load after round $round: $(cut -d' ' -f1-3 /proc/loadavg)"
done

if [ "${#ratios[@]}" -gt 0 ]; then
    echo
    echo "step time ratio nasc/PyTorch per round: ${ratios[*]}; median $(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')"
fi
