#!/bin/sh
# nanoBragg finds its modules (lib/libnb_nexus.so, lib/libnb_mpi.so beside
# bin/) however it is started: through PATH (the main program's name had been
# the bare 'nanoBragg', so lib/ was looked for in the current folder) or a
# symbolic link (lib/ was looked for beside the link).
# Usage: modules_found_through_links.sh NANOBRAGG
set -eu
nb=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
ln -s "$nb" linked
args="-cell 79.1 79.1 38.4 90 90 90 -default_F 100 -N 5 -detpixels 32 -seed 1 -nopgm -nonoise"
# shellcheck disable=SC2086
./linked $args -nexusfile through_link.h5 > link.log 2>&1 || { cat link.log; echo "through a link: failed"; exit 1; }
mkdir path
ln -s "$nb" path/nanoBragg
# shellcheck disable=SC2086
PATH="$work/path:$PATH" nanoBragg $args -nexusfile through_path.h5 > path.log 2>&1 ||
  { cat path.log; echo "through PATH: failed"; exit 1; }
[ -s through_link.h5 ] && [ -s through_path.h5 ] || { echo "a NeXus file is missing"; exit 1; }
echo "the NeXus module loads through a link and through PATH"
