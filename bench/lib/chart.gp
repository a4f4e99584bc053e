# gnuplot -e "datafile='X.dat'; outfile='X.svg'" bench/lib/chart.gp  (bench/run.sh runs it)
# Seconds against hosts (X.dat) or repositories (X-repositories.dat), the program and Ansible, one panel per
# scenario; points are medians, bars min–max. The .dat comes from bench/lib/stats.mjs: a subtitle line,
# "# targets: <sandbox fleet>", "# maxx: N", "# scenarios: <measured ones of fresh noop rotation drift>",
# "# xlabel: <axis>", a header, then one block per scenario and target, rows:
# x hosts|repositories program_median program_min program_max ansible_median ansible_min ansible_max
subtitle = system(sprintf("sed -n '1s/^# //p' '%s'", datafile))
targets = system(sprintf("sed -n '2s/^# targets: //p' '%s'", datafile))
maxx = int(system(sprintf("sed -n '3s/^# maxx: //p' '%s'", datafile)))
scenarios = system(sprintf("sed -n '4s/^# scenarios: //p' '%s'", datafile))
ns = words(scenarios)
xlab = system(sprintf("sed -n '5s/^# xlabel: //p' '%s'", datafile))
if (outfile[strlen(outfile)-3:] eq ".png") {
  set terminal pngcairo size 1000,760 font "Helvetica,10" background rgb "white"
} else {
  set terminal svg size 1000,760 dynamic font "Helvetica,12" background rgb "white"
}
set output outfile
set grid ytics lc rgb "#dddddd"
set xlabel xlab
set ylabel "seconds"
set yrange [0:*]
set xrange [0:(maxx <= 12 ? maxx + 1 : maxx * 1.05)]
if (maxx <= 12) { set xtics 1 }
set style line 1 lc rgb "#1f77b4" lw 2 pt 7 ps 0.9
set style line 2 lc rgb "#ff7f0e" lw 2 pt 5 ps 0.9
set style line 3 lc rgb "#1f77b4" lw 1.5 pt 6 ps 1.2
set style line 4 lc rgb "#ff7f0e" lw 1.5 pt 4 ps 1.2
title_of(s) = s eq "fresh" ? "fresh provision" : s eq "noop" ? "no-op check (preview vs --check --diff)" : \
  s eq "rotation" ? "token rotation" : s eq "drift" ? "drift repair (chmod 644)" : s
label_of(t) = t eq "fleet" ? "fleet (bench/fleet.sh)" : "sandbox host"
nt = words(targets)
set multiplot layout (ns > 2 ? 2 : 1), (ns > 1 ? 2 : 1) title "github-flows-host (Pulumi program) vs Ansible: median seconds, bars min–max\n".subtitle font ",13"
do for [i = 1:ns] {
  set title title_of(word(scenarios, i))
  if (i == 1) { set key top left box opaque font ",10" } else { unset key }
  plot for [j = 1:nt] datafile index ((i - 1) * nt + j - 1) using 1:3:4:5 with yerrorlines ls (word(targets, j) eq "fleet" ? 1 : 3) \
         title "program, ".label_of(word(targets, j)), \
       for [j = 1:nt] datafile index ((i - 1) * nt + j - 1) using 1:6:7:8 with yerrorlines ls (word(targets, j) eq "fleet" ? 2 : 4) \
         title "Ansible, ".label_of(word(targets, j))
}
unset multiplot
