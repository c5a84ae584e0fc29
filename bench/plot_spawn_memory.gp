# Spawn+wait latency against the parent's touched memory, from spawn_memory --data.
#
#   gnuplot -e "datafile='build-bench/spawn_memory.dat'; outfile='docs/spawn_vs_memory.png'; \
#               subtitle='kernel 6.18, 2 CPUs'" bench/plot_spawn_memory.gp
#
# Data columns (bench/spawn_memory.cpp): gib floor brood posix_spawn fork_exec [python_subprocess]
# The y axis is logarithmic: fork's cost grows by orders of magnitude while the others stay flat.

if (!exists("datafile")) datafile = 'build-bench/spawn_memory.dat'
if (!exists("outfile")) outfile = 'docs/spawn_vs_memory.png'
if (!exists("subtitle")) subtitle = ''

set terminal pngcairo size 960,600 enhanced font 'DejaVu Sans,11'
set output outfile

set title "Spawn + wait of a static no-op program vs. the parent's touched memory\n{/*0.8 ".subtitle."}"
set xlabel "parent's touched anonymous memory (GiB)"
set ylabel "spawn + wait latency, median (µs, log scale)"
set logscale y
set format y "%g"
set xrange [-0.2:*]
set xtics 1
set grid xtics ytics mytics lc rgb '#dddddd'
set key outside right center box opaque
set border 3
set tics nomirror

stats datafile using 1 nooutput
ncols = STATS_columns

plot datafile using 1:3 with linespoints lw 3 pt 7 ps 1.4 lc rgb '#1b7837' title 'brood::command', \
     datafile using 1:5 with linespoints lw 2 pt 5 ps 1.2 lc rgb '#b2182b' title 'fork + execve (raw)', \
     datafile using 1:4 with linespoints lw 2 pt 9 ps 1.3 lc rgb '#2166ac' title 'posix\_spawn (glibc, raw)', \
     for [c=6:ncols] datafile using 1:c with linespoints lw 2 pt 11 ps 1.3 lc rgb '#e08214' title 'Python subprocess.run', \
     datafile using 1:2 with linespoints lw 1 dt 2 pt 1 lc rgb '#555555' title 'floor: raw clone3 vfork'
