#!/bin/sh
# No program or module of ours may search the current directory for shared
# libraries: an empty RUNPATH entry (CMake pads build RUNPATHs with ':') would
# load a libgomp.so.1 planted in the folder a user runs nanoBragg in.
# Usage: runpath_safe.sh FILE...
status=0
for f in "$@"; do
    path=$(readelf -d "$f" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')
    case ":$path:" in
    *::*) if [ -n "$path" ]; then echo "$f: RUNPATH '$path' holds an empty entry (the current directory)"; status=1; fi ;;
    esac
    case ":$path:" in
    *:.:* | *:./*) echo "$f: RUNPATH '$path' holds a relative entry"; status=1 ;;
    esac
done
[ $status -eq 0 ] && echo "checked $# files: no empty or relative RUNPATH entry"
exit $status
