# bench/suite.py: cd plots/data && gnuplot rss.gp
set terminal pngcairo noenhanced size 1300,520 font ',10'
set output '../rss.png'
reset
set multiplot layout 1,2
set grid
set key outside top center horizontal samplen 2
set title 'memory: RSS over time'
set xlabel 'time (s)'
set ylabel 'RSS (MiB)'
set yrange [0:*]
plot 'rss-glibc.dat' using 1:2 with lines lw 2 lc rgb '#777777' title 'glibc', \
  'rss-uslub.dat' using 1:2 with lines lw 2 lc rgb '#d62728' title 'uslub', \
  'rss-jemalloc.dat' using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'jemalloc', \
  'rss-tcmalloc.dat' using 1:2 with lines lw 2 lc rgb '#2ca02c' title 'tcmalloc', \
  'rss-mimalloc.dat' using 1:2 with lines lw 2 lc rgb '#9467bd' title 'mimalloc'
set title 'memory counters'
set xlabel ''
set datafile missing '?'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
plot 'memory.dat' using 2:xtic(1) title 'glibc' lc rgb '#777777', \
  'memory.dat' using 3:xtic(1) title 'uslub' lc rgb '#d62728', \
  'memory.dat' using 4:xtic(1) title 'jemalloc' lc rgb '#1f77b4', \
  'memory.dat' using 5:xtic(1) title 'tcmalloc' lc rgb '#2ca02c', \
  'memory.dat' using 6:xtic(1) title 'mimalloc' lc rgb '#9467bd'
unset multiplot
set output
set terminal svg noenhanced size 1300,520 font 'sans,10'
set output '../rss.svg'
reset
set multiplot layout 1,2
set grid
set key outside top center horizontal samplen 2
set title 'memory: RSS over time'
set xlabel 'time (s)'
set ylabel 'RSS (MiB)'
set yrange [0:*]
plot 'rss-glibc.dat' using 1:2 with lines lw 2 lc rgb '#777777' title 'glibc', \
  'rss-uslub.dat' using 1:2 with lines lw 2 lc rgb '#d62728' title 'uslub', \
  'rss-jemalloc.dat' using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'jemalloc', \
  'rss-tcmalloc.dat' using 1:2 with lines lw 2 lc rgb '#2ca02c' title 'tcmalloc', \
  'rss-mimalloc.dat' using 1:2 with lines lw 2 lc rgb '#9467bd' title 'mimalloc'
set title 'memory counters'
set xlabel ''
set datafile missing '?'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
plot 'memory.dat' using 2:xtic(1) title 'glibc' lc rgb '#777777', \
  'memory.dat' using 3:xtic(1) title 'uslub' lc rgb '#d62728', \
  'memory.dat' using 4:xtic(1) title 'jemalloc' lc rgb '#1f77b4', \
  'memory.dat' using 5:xtic(1) title 'tcmalloc' lc rgb '#2ca02c', \
  'memory.dat' using 6:xtic(1) title 'mimalloc' lc rgb '#9467bd'
unset multiplot
set output
