#!/bin/bash
# CI stand-in for `docker build` (no Docker engine runs here): the build
# stage's script, run as written, into a temporary prefix.
set -euo pipefail
src=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
"$src/docker/build_in_image.sh" "$src" "$prefix"
for tool in nanoBragg noisify nonBragg nb-compare nb-bench; do test -x "$prefix/bin/$tool"; done
grep -q '^FROM nvidia/cuda:.*devel.* AS build$' "$src/docker/Dockerfile"
grep -q 'RUN /src/docker/build_in_image.sh /src /opt/nanobragg' "$src/docker/Dockerfile"
echo "docker build steps ok"
