#!/usr/bin/env python3
"""Writes the autoscaler traces in this folder: t_seconds,rps, one row per 10 s.

steady: 2.5 rps for 2 h (in the band for model-a's minimum of 2).
ramp:   2 rps rising linearly to 30 rps over 1 h, held for 30 min.
burst:  2.5 rps for 2 h with one 60-s burst at 3x (7.5 rps) at 30 min.
decay:  24 rps for 20 min, then falling slowly to 1 rps over 2 h, held for 30 min.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, rates):
    with open(os.path.join(HERE, name + ".csv"), "w") as f:
        f.write("t_seconds,rps\n")
        for i, r in enumerate(rates):
            f.write(f"{i * 10},{r:.3f}\n")


def rows(seconds):
    return range(seconds // 10)


write("steady", [2.5 for _ in rows(7200)])
write("ramp", [2 + 28 * min(1.0, i * 10 / 3600) for i in rows(5400)])
write("burst", [7.5 if 1800 <= i * 10 < 1860 else 2.5 for i in rows(7200)])
write("decay", [24 if i * 10 < 1200 else max(1.0, 24 - 23 * (i * 10 - 1200) / 7200) for i in rows(10200)])
