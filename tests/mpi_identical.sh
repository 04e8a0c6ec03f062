#!/bin/bash
# The same series under `mpirun -np 2` (CPU backend) writes exactly the files
# a single process writes, byte for byte.
# Usage: mpi_identical.sh NANOBRAGG MPIRUN
set -euo pipefail
nb=$1
mpirun=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(-cell 79.1 79.1 38.4 90 90 90 -default_F 100 -N 5 -detpixels 96 -distance 100 -phi 10 -osc 1 -nframes 5
      -seed 5 -device cpu -floatfile f_%02d.bin -intfile s_%02d.img -noisefile n_%02d.img -pgmfile p_%02d.pgm)
mkdir "$work/one" "$work/two"
(cd "$work/one" && "$nb" "${args[@]}" > log.txt)
(cd "$work/two" && "$mpirun" --allow-run-as-root --oversubscribe -np 2 "$nb" "${args[@]}" > log.txt)
grep "job summary" "$work/two/log.txt"
grep -q "on 2 rank(s)" "$work/two/log.txt" || { echo "mpi: the job did not run on 2 ranks"; exit 1; }
# rank 0 prints the job's frame timing, over every rank's frames, once
[ "$(grep -c '^frame timing:' "$work/two/log.txt")" -eq 1 ] || { echo "mpi: expected one frame timing line"; exit 1; }
(cd "$work/one" && ls -1 | grep -v log.txt | sort) > "$work/one.list"
(cd "$work/two" && ls -1 | grep -v log.txt | sort) > "$work/two.list"
diff "$work/one.list" "$work/two.list"
[ "$(wc -l < "$work/one.list")" -eq 20 ] || { echo "mpi: expected 20 files"; exit 1; }
while read -r f; do cmp "$work/one/$f" "$work/two/$f"; done < "$work/one.list"
echo "mpi: 20 files byte-identical between 1 process and mpirun -np 2"

# A shot that cannot be set up (its crystal needs more sub-pixels than the
# detector allows) stops the job before anything is written, said once, exit 2.
mkdir "$work/fail"
printf 'misset 0 0 0\nmisset 1 2 3 N=1000000000\nmisset 2 2 2\nmisset 3 3 3\n' > "$work/fail/b.txt"
set +e
(cd "$work/fail" && timeout 120 "$mpirun" --allow-run-as-root --oversubscribe -np 2 "$nb" -cell 79.1 79.1 38.4 \
  90 90 90 -default_F 100 -N 5 -detpixels 32 -distance 100 -device cpu -shots b.txt -floatfile g_%02d.bin \
  -nopgm -nonoise > log.txt 2> err.txt)
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "mpi: a shot that cannot be set up exited $rc, not 2"; cat "$work/fail/err.txt"; exit 1; }
[ "$(grep -c "error: -shots: 'b.txt' line 2: -oversample" "$work/fail/err.txt")" -eq 1 ] ||
  { echo "mpi: the shot's error was not said exactly once"; cat "$work/fail/err.txt"; exit 1; }
! ls "$work/fail" | grep -q '^g_' || { echo "mpi: files were written before the shot's error"; exit 1; }
echo "mpi: a shot that cannot be set up stops the job before any file (exit 2)"

# A rank that fails where the others do not (its node lacks the output
# folder: rank 1's arguments differ here) ends the whole job with status 2:
# rank 0 had waited for it in the job summary until the allocation ran out.
args=(-cell 79.1 79.1 38.4 90 90 90 -default_F 100 -N 5 -detpixels 32 -distance 100 -device cpu -nframes 6 -nopgm
      -nonoise)
set +e
(cd "$work/fail" && timeout 120 "$mpirun" --allow-run-as-root --oversubscribe -np 1 "$nb" "${args[@]}" \
  -floatfile h_%02d.bin : -np 1 "$nb" "${args[@]}" -floatfile nodir/h_%02d.bin > log1.txt 2> err1.txt)
rc=$?
set -e
grep -q "error: -floatfile: cannot create 'nodir/h_01.bin'" "$work/fail/err1.txt" ||
  { echo "mpi: rank 1's error line is missing"; cat "$work/fail/err1.txt"; exit 1; }
[ "$rc" -ne 124 ] || { echo "mpi: a failed rank left the job hanging"; exit 1; }
[ "$rc" -eq 2 ] || { echo "mpi: a failed rank's job exited $rc, not 2"; exit 1; }
echo "mpi: a rank's failure ends the job (exit $rc)"

# An error in the command line is said once, by rank 0, and every rank exits 2.
set +e
(cd "$work/fail" && timeout 120 "$mpirun" --allow-run-as-root --oversubscribe -np 2 "$nb" -cell 79.1 79.1 38.4 \
  90 90 90 -default_F 100 -detpixels 32 -bogus 3 > log2.txt 2> err2.txt)
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "mpi: a command-line error exited $rc, not 2"; cat "$work/fail/err2.txt"; exit 1; }
[ "$(grep -c 'error: -bogus: unknown flag' "$work/fail/err2.txt")" -eq 1 ] ||
  { echo "mpi: a command-line error was not said exactly once"; cat "$work/fail/err2.txt"; exit 1; }
echo "mpi: a command-line error is said once (exit 2)"
# so is a missing input file (every rank reads it)
set +e
(cd "$work/fail" && timeout 120 "$mpirun" --allow-run-as-root --oversubscribe -np 2 "$nb" -cell 79.1 79.1 38.4 \
  90 90 90 -hkl nofile.hkl -N 5 -detpixels 32 -nframes 2 > log3.txt 2> err3.txt)
rc=$?
set -e
[ "$rc" -eq 2 ] && [ "$(grep -c "error: -hkl: cannot open 'nofile.hkl'" "$work/fail/err3.txt")" -eq 1 ] ||
  { echo "mpi: a missing -hkl file was not said exactly once (exit $rc)"; cat "$work/fail/err3.txt"; exit 1; }
echo "mpi: a missing input file is said once (exit 2)"
