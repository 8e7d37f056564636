# bench/suite.py: cd plots/data && gnuplot prodcons.gp
set terminal pngcairo noenhanced size 500,480 font ',10'
set output '../prodcons.png'
reset
set multiplot layout 1,1
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
set title 'prodcons mixed'
plot 'prodcons-mixed.dat' using 1:2 with linespoints title 'glibc' lw 2 pt 7 lc rgb '#777777', \
  'prodcons-mixed.dat' using 1:3 with linespoints title 'uslub' lw 3 pt 7 lc rgb '#d62728', \
  'prodcons-mixed.dat' using 1:4 with linespoints title 'jemalloc' lw 2 pt 7 lc rgb '#1f77b4', \
  'prodcons-mixed.dat' using 1:5 with linespoints title 'tcmalloc' lw 2 pt 7 lc rgb '#2ca02c', \
  'prodcons-mixed.dat' using 1:6 with linespoints title 'mimalloc' lw 2 pt 7 lc rgb '#9467bd'
unset multiplot
set output
set terminal svg noenhanced size 500,480 font 'sans,10'
set output '../prodcons.svg'
reset
set multiplot layout 1,1
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
set title 'prodcons mixed'
plot 'prodcons-mixed.dat' using 1:2 with linespoints title 'glibc' lw 2 pt 7 lc rgb '#777777', \
  'prodcons-mixed.dat' using 1:3 with linespoints title 'uslub' lw 3 pt 7 lc rgb '#d62728', \
  'prodcons-mixed.dat' using 1:4 with linespoints title 'jemalloc' lw 2 pt 7 lc rgb '#1f77b4', \
  'prodcons-mixed.dat' using 1:5 with linespoints title 'tcmalloc' lw 2 pt 7 lc rgb '#2ca02c', \
  'prodcons-mixed.dat' using 1:6 with linespoints title 'mimalloc' lw 2 pt 7 lc rgb '#9467bd'
unset multiplot
set output
