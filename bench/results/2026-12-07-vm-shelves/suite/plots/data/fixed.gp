# bench/suite.py: cd plots/data && gnuplot fixed.gp
set terminal pngcairo noenhanced size 920,480 font ',10'
set output '../fixed.png'
reset
set multiplot layout 1,2
set logscale x 2
set xrange [0.714286:2.8]
set xtics (1,2)
set yrange [0:*]
set format y '%.1s%c'
set xlabel 'threads'
set ylabel 'ops/s'
set grid
set datafile missing '?'
set key outside top center horizontal samplen 2
set title 'fixed 64'
plot 'fixed-64.dat' using 1:2 with linespoints title 'glibc' lw 2 pt 7 lc rgb '#777777', \
  'fixed-64.dat' using 1:3 with linespoints title 'uslub' lw 3 pt 7 lc rgb '#d62728', \
  'fixed-64.dat' using 1:4 with linespoints title 'uslub-cache' lw 3 pt 7 lc rgb '#ff9896', \
  'fixed-64.dat' using 1:5 with linespoints title 'jemalloc' lw 2 pt 7 lc rgb '#1f77b4', \
  'fixed-64.dat' using 1:6 with linespoints title 'tcmalloc' lw 2 pt 7 lc rgb '#2ca02c', \
  'fixed-64.dat' using 1:7 with linespoints title 'mimalloc' lw 2 pt 7 lc rgb '#9467bd'
set title 'fixed 200'
plot 'fixed-200.dat' using 1:2 with linespoints title 'glibc' lw 2 pt 7 lc rgb '#777777', \
  'fixed-200.dat' using 1:3 with linespoints title 'uslub' lw 3 pt 7 lc rgb '#d62728', \
  'fixed-200.dat' using 1:4 with linespoints title 'uslub-cache' lw 3 pt 7 lc rgb '#ff9896', \
  'fixed-200.dat' using 1:5 with linespoints title 'jemalloc' lw 2 pt 7 lc rgb '#1f77b4', \
  'fixed-200.dat' using 1:6 with linespoints title 'tcmalloc' lw 2 pt 7 lc rgb '#2ca02c', \
  'fixed-200.dat' using 1:7 with linespoints title 'mimalloc' lw 2 pt 7 lc rgb '#9467bd'
unset multiplot
set output
set terminal svg noenhanced size 920,480 font 'sans,10'
set output '../fixed.svg'
reset
set multiplot layout 1,2
set logscale x 2
set xrange [0.714286:2.8]
set xtics (1,2)
set yrange [0:*]
set format y '%.1s%c'
set xlabel 'threads'
set ylabel 'ops/s'
set grid
set datafile missing '?'
set key outside top center horizontal samplen 2
set title 'fixed 64'
plot 'fixed-64.dat' using 1:2 with linespoints title 'glibc' lw 2 pt 7 lc rgb '#777777', \
  'fixed-64.dat' using 1:3 with linespoints title 'uslub' lw 3 pt 7 lc rgb '#d62728', \
  'fixed-64.dat' using 1:4 with linespoints title 'uslub-cache' lw 3 pt 7 lc rgb '#ff9896', \
  'fixed-64.dat' using 1:5 with linespoints title 'jemalloc' lw 2 pt 7 lc rgb '#1f77b4', \
  'fixed-64.dat' using 1:6 with linespoints title 'tcmalloc' lw 2 pt 7 lc rgb '#2ca02c', \
  'fixed-64.dat' using 1:7 with linespoints title 'mimalloc' lw 2 pt 7 lc rgb '#9467bd'
set title 'fixed 200'
plot 'fixed-200.dat' using 1:2 with linespoints title 'glibc' lw 2 pt 7 lc rgb '#777777', \
  'fixed-200.dat' using 1:3 with linespoints title 'uslub' lw 3 pt 7 lc rgb '#d62728', \
  'fixed-200.dat' using 1:4 with linespoints title 'uslub-cache' lw 3 pt 7 lc rgb '#ff9896', \
  'fixed-200.dat' using 1:5 with linespoints title 'jemalloc' lw 2 pt 7 lc rgb '#1f77b4', \
  'fixed-200.dat' using 1:6 with linespoints title 'tcmalloc' lw 2 pt 7 lc rgb '#2ca02c', \
  'fixed-200.dat' using 1:7 with linespoints title 'mimalloc' lw 2 pt 7 lc rgb '#9467bd'
unset multiplot
set output
