#!/usr/bin/env python3
"""PTX instructions in a kernel's innermost loop of several blocks: for the
render kernels, one (phi, mosaic) pair's evaluation, the loop that dominates
every run with more than a few pairs a pixel. A static count (a uniform
branch's both sides count), not a measurement: a proxy for a kernel change
checked without a GPU. Single-block loops (the argument reduction of sinf
and cosf for huge arguments) are left out.

Usage: ptx_sweep_size.py FILE.ptx ENTRY_SUBSTRING
Prints the count, or fails when no such kernel or loop is found."""
import re
import sys


def kernel_lines(ptx, needle):
    lines = ptx.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith(".visible .entry")] + [len(lines)]
    for a, b in zip(starts, starts[1:]):
        if needle in lines[a]:
            return lines[a:b]
    return None


def instruction(line):
    t = line.strip()
    return bool(t) and not t.startswith((".", "//", "{", "}", "$", ")", "("))


def innermost_loop_size(lines):
    blocks, current = [], None
    for line in lines:
        m = re.match(r"^(\$L__BB\d+_\d+):", line)
        if m:
            current = [m.group(1), []]
            blocks.append(current)
            continue
        if current is None:
            current = ["entry", []]
            blocks.append(current)
        current[1].append(line)
    index = {name: k for k, (name, _) in enumerate(blocks)}
    sizes = [sum(1 for line in body if instruction(line)) for _, body in blocks]
    best = None
    for k, (_, body) in enumerate(blocks):
        for line in body:
            m = re.search(r"\bbra(?:\.uni)?\s+(\$L__BB\d+_\d+)", line)
            if m and m.group(1) in index and index[m.group(1)] < k:  # a back edge over several blocks
                n = sum(sizes[index[m.group(1)] : k + 1])
                best = n if best is None else min(best, n)
    return best


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    lines = kernel_lines(open(sys.argv[1]).read(), sys.argv[2])
    if lines is None:
        sys.exit(f"no kernel matching {sys.argv[2]} in {sys.argv[1]}")
    n = innermost_loop_size(lines)
    if n is None:
        sys.exit(f"no loop of several blocks in {sys.argv[2]}")
    print(n)


if __name__ == "__main__":
    main()
