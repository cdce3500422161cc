#!/usr/bin/env python3
"""Checks the SVG that `focal_demo --plot FILE` writes: well-formed XML, one
precision-recall polyline per loss inside the unit square of the axes, each
ending at recall 1 (every positive found once the whole test set is ranked),
and a legend entry naming each loss with its average precision.

usage: check_plot.py FILE.svg
"""
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def main(path):
    root = ET.parse(path).getroot()
    frame = [r for r in root.iter(NS + "rect") if r.get("stroke") == "black"]
    if len(frame) != 1:
        sys.exit("expected one framed plot area")
    x0, y0 = float(frame[0].get("x")), float(frame[0].get("y"))
    x1, y1 = x0 + float(frame[0].get("width")), y0 + float(frame[0].get("height"))
    lines = list(root.iter(NS + "polyline"))
    if len(lines) != 2:
        sys.exit(f"expected 2 curves, found {len(lines)}")
    for line in lines:
        points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        if len(points) < 10:
            sys.exit("a curve has fewer than 10 points")
        for x, y in points:
            if not (x0 - 0.05 <= x <= x1 + 0.05 and y0 - 0.05 <= y <= y1 + 0.05):
                sys.exit(f"point ({x}, {y}) outside the axes")
        if abs(points[-1][0] - x1) > 0.05:
            sys.exit("a curve does not end at recall 1")
    legend = [t.text for t in root.iter(NS + "text") if t.text and "AP" in t.text]
    if len(legend) != 2 or not all(re.search(r"AP 0\.\d{3}$", t) for t in legend):
        sys.exit(f"legend entries with AP: {legend}")
    if not (legend[0].startswith("cross-entropy") and legend[1].startswith("focal")):
        sys.exit(f"legend names: {legend}")
    print(f"{path}: 2 curves, legend {legend}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
