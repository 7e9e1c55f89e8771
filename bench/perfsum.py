#!/usr/bin/python3
"""perfsum.py - ranks where a program's CPU time goes, from `perf script` output with call chains.

  perf record -e cpu-clock -F 299 --call-graph dwarf,16384 -o perf.data -- bin/riskd ...
  perf script -i perf.data -F comm,tid,ip,sym,dso | bench/perfsum.py [--binary riskd]

Library code (jansson, libc's malloc and memcpy, libpq, librdkafka) is charged to the nearest
function of the program's own binary on the call chain, so a line reads "event_decode, with the
jansson and libc work it calls: 38%". Samples of librdkafka's background threads (rdk:*) and
samples with no frame of the binary are grouped by thread and leaf library. A second table
splits the same samples by the library the leaf is in. Used by bench/README.md's profile
section; works on any program built with -g.
"""

import argparse
import collections
import re
import sys

FRAME = re.compile(r"^\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$")


def samples(stream):
    head, frames = None, []
    for line in stream:
        if not line.strip():
            if head is not None:
                yield head, frames
            head, frames = None, []
            continue
        if not line[0].isspace():
            if head is not None:
                yield head, frames
            head, frames = line.split()[0] if line.split() else "?", []
            continue
        m = FRAME.match(line)
        if m:
            sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(2))
            frames.append((sym, m.group(3)))
    if head is not None:
        yield head, frames


def resolve_inlined(frames):
    """An inlined frame shows "(inlined)" where the library belongs: it is the library of the
    next real frame (the function it was inlined into)."""
    out, pending = [], []
    for sym, dso in frames:
        if dso == "inlined":
            pending.append(sym)
            continue
        out.extend((p, dso) for p in pending)
        pending = []
        out.append((sym, dso))
    out.extend((p, "?") for p in pending)
    return out


def short_dso(dso):
    base = dso.rsplit("/", 1)[-1]
    return re.sub(r"\.so(\.[0-9.]+)?$", "", base)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="riskd", help="the program's file name (default riskd)")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()

    owner = collections.Counter()
    owner_leaf = collections.defaultdict(collections.Counter)
    leaf_dso = collections.Counter()
    total = 0
    for comm, frames in samples(sys.stdin):
        frames = resolve_inlined(frames)
        total += 1
        leaf = short_dso(frames[0][1]) if frames else "?"
        leaf_dso[leaf] += 1
        name = None
        for sym, dso in frames:
            if short_dso(dso) == args.binary and sym != "[unknown]":
                name = sym
                break
        if name is None:
            # no frame of the binary: a library thread, or an unwind that stopped inside a
            # library without debug information; name the thread and the leaf function
            thread = "rdk:*" if comm.startswith("rdk:") else comm
            leaf_sym = frames[0][0] if frames else "?"
            name = f"[{thread} thread] {leaf_sym}"
        owner[name] += 1
        owner_leaf[name][leaf] += 1

    if not total:
        print("perfsum: no samples", file=sys.stderr)
        return 1
    print(f"{total} samples; each line: the {args.binary} function nearest the leaf, with the "
          f"library work it called")
    print(f"{'share':>7}  {'function':<52} leaf libraries")
    for name, n in owner.most_common(args.top):
        libs = ", ".join(f"{d} {100 * c / n:.0f}%" for d, c in owner_leaf[name].most_common(3))
        print(f"{100 * n / total:6.1f}%  {name[:52]:<52} {libs}")
    print()
    print("by leaf library:")
    for d, n in leaf_dso.most_common(12):
        print(f"{100 * n / total:6.1f}%  {d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
