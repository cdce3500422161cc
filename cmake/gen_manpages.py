#!/usr/bin/env python3
"""Writes a section-3 manual page for every public function of focal.h,
from the header's own comments: each declaration's description is the
comment block above it (declarations that follow one another without a
blank line or a comment of their own share it). The pages are gzip'd
(-9, no name, no time stamp: reproducible), as Debian installs them.

usage: gen_manpages.py HEADER OUTDIR VERSION
"""
import gzip
import os
import re
import sys

DECL = re.compile(r"FOCAL_API\s+(.*?)\b(focal_\w+)\s*\((.*?)\)\s*;", re.S)


def parse(text):
    """[(name, prototype, comment lines)] in header order. A comment block
    holds until the next comment or a line of other code (blank lines do
    not end it: a section's comment stands above its declarations)."""
    out = []
    comment = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("/*"):
            block = [lines[i]]
            while "*/" not in lines[i]:
                i += 1
                block.append(lines[i])
            body = []
            for raw in block:
                l = raw.strip()
                l = re.sub(r"^/\*+", "", l)
                l = re.sub(r"\*+/$", "", l)
                l = re.sub(r"^\* ?", "", l)
                body.append(l.rstrip())
            while body and not body[0].strip():
                body.pop(0)
            while body and not body[-1].strip():
                body.pop()
            comment = body
        elif line.startswith("FOCAL_API"):
            decl = line
            while not decl.rstrip().endswith(";"):
                i += 1
                decl += " " + lines[i].strip()
            m = DECL.search(decl)
            if m:
                ret, name, args = m.group(1).strip(), m.group(2), " ".join(m.group(3).split())
                out.append((name, "%s %s(%s);" % (ret, name, args), comment))
        elif line and not line.startswith("#"):
            comment = []
        i += 1
    return out


STORAGE = {"f32": "float32", "f64": "float64", "bf16": "bfloat16", "f16": "float16"}


def summary(name, comment):
    """The NAME line: what the function does, from its name's pattern."""
    m = re.match(r"focal_(forward_backward|forward|backward_target|backward|counts)(_dense)?_(f32|f64|bf16|f16)$", name)
    if m:
        op, dense, st = m.groups()
        what = {"forward_backward": "the focal loss and its gradient in one pass",
                "forward": "the focal loss",
                "backward": "the gradient of the focal loss with respect to the input",
                "backward_target": "the gradient of the focal loss with respect to dense targets",
                "counts": "a shard's denominators, for data-parallel training"}[op]
        targets = "dense targets" if dense or op == "backward_target" else "index targets"
        return "%s (%s, %s storage)" % (what, targets, STORAGE[st])
    m = re.match(r"focal_loss_(set|get|clear)_(\w+)$", name)
    if m:
        verb = {"set": "set", "get": "read", "clear": "clear"}[m.group(1)]
        return "%s the %s setting of a focal_loss context" % (verb, m.group(2).replace("_", " "))
    prose = [l for l in comment if l and not l.startswith("-")]
    text = " ".join(" ".join(prose).split())
    first = text.split(". ")[0].rstrip(".") if text else "see focal.h"
    return first if len(first) <= 100 else first[:97].rstrip() + "..."


def description(comment):
    """roff paragraphs: prose joined, aligned lines (tables, code) kept."""
    paras, cur = [], []
    for l in comment:
        if re.match(r"^-{8,}", l.strip()):
            continue
        if not l.strip():
            if cur:
                paras.append(cur)
            cur = []
        else:
            cur.append(l)
    if cur:
        paras.append(cur)
    out = []
    for para in paras:
        out.append(".PP")
        if any(re.search(r"\S {2,}\S", l) or l.startswith("  ") for l in para):
            out += [".nf"] + [roff(l) for l in para] + [".fi"]
        else:
            out.append(roff(" ".join(" ".join(para).split())))
    return out


def roff(s):
    s = s.replace("\\", "\\e")
    return "\n".join(("\\&" + l if l.startswith((".", "'")) else l) for l in s.split("\n"))


def page(name, proto, comment, version):
    returns = "focal_status" in proto.split(name)[0]
    lines = [
        '.TH %s 3 "" "libfocal %s" "libfocal manual"' % (name.upper(), version),
        ".SH NAME",
        "%s \\- %s" % (name, roff(summary(name, comment))),
        ".SH SYNOPSIS",
        ".nf",
        ".B #include <focal/focal.h>",
        ".PP",
        roff(proto),
        ".fi",
        ".PP",
        "Link with \\fI\\-lfocal\\fP (\\fBpkg\\-config \\-\\-libs focal\\fP).",
        ".SH DESCRIPTION",
    ]
    lines += description(comment) if comment else ["See the comments of \\fIfocal/focal.h\\fP."]
    if returns:
        lines += [
            ".SH RETURN VALUE",
            "\\fBFOCAL_OK\\fP (0) on success, otherwise an error status (see \\fBfocal_status_string\\fP(3));",
            "the calling thread's \\fBfocal_last_error\\fP(3) then describes the failure, and no output",
            "has been written.",
        ]
    lines += [
        ".SH SEE ALSO",
        "The header \\fI/usr/include/focal/focal.h\\fP, read top to bottom, is the reference;",
        "\\fBfocal_last_error\\fP(3), \\fBfocal_loss_create\\fP(3).",
    ]
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    header, outdir, version = sys.argv[1:]
    with open(header) as f:
        decls = parse(f.read())
    if not decls:
        sys.exit("gen_manpages.py: no FOCAL_API declaration in %s" % header)
    os.makedirs(outdir, exist_ok=True)
    for old in os.listdir(outdir):
        if old.endswith(".3.gz"):
            os.remove(os.path.join(outdir, old))
    for name, proto, comment in decls:
        data = page(name, proto, comment, version).encode()
        with open(os.path.join(outdir, name + ".3.gz"), "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as gz:
                gz.write(data)
    print("gen_manpages.py: %d pages in %s" % (len(decls), outdir))


if __name__ == "__main__":
    main()
