#!/usr/bin/env python3
"""steps.py: check a --progress plain or rawjson log as buildx prints it.

  steps.py plain|rawjson FILE [--summary REGEX] [--tail REGEX] [--statuses]
           [--order REGEX]...

plain: before the summary every line is blank, "#N ..." (N >= 1) or a
"hoist: error: " / "hoist: warning: " line; a step's first line is
"#N NAME"; steps are numbered 1, 2, ... in the order they begin; each ends
with exactly one "#N DONE x.ys", "#N CACHED" or "#N ERROR: ..." line and
has no line after it; "#N ..." (switching away) only while it is open.

rawjson: before the summary every line is a BuildKit SolveStatus (only
buildx's keys, RFC 3339 times, statuses and logs naming a known vertex) or
an error/warning line; every vertex completes.

--statuses: every status a step begins ends before the step does. plain:
a status line is "#N ID[ CUR[ / TOTAL]][ T.Ts][ done]" where ID is one of
BuildKit's exporter statuses (exporting ..., naming to ..., pushing
layers, pushing manifest for ..., sending tarball, ...) or a transfer
("pushing sha256:0123456789ab 1.2MB / 3MB": the transfer's ID is its
digest, whatever the verb); other lines are log lines. Once a status
prints a line without "done" (it is running), a line of the same ID with
"done" must follow before the step's DONE. rawjson: every status of a
vertex has "completed" set by the time the vertex completes.

--order REGEX (repeatable): every line matching one comes before the first
line matching the next, and each matches some line.

--summary REGEX: the first line matching it starts the summary, which must
exist; after it only lines matching --tail REGEX may follow. Without
--summary nothing but steps may appear.

Prints one "STEP <outcome> <name>" line per step (DONE, CACHED or ERROR),
in step order; exits 1 with the reason on stderr when a rule is broken.
"""
import argparse
import base64
import json
import re
import sys

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
MSG = re.compile(r"^hoist: (error|warning): ")


def fail(why, line=None):
    sys.stderr.write("steps.py: %s%s\n" % (why, "" if line is None else
                                           ": %r" % line))
    sys.exit(1)


def split(lines, summary, tail):
    if summary is None:
        return lines
    rs = re.compile(summary)
    for i, line in enumerate(lines):
        if rs.search(line):
            rt = re.compile(tail) if tail else None
            for t in lines[i + 1:]:
                if not rt or not rt.search(t):
                    fail("a line after the summary", t)
            return lines[:i]
    fail("no summary line matching %r" % summary)


STATUS = re.compile(r"^(?P<id>.+?)(?: [0-9.]+[kMGTP]?B(?: / [0-9.]+[kMGTP]?B)?)?"
                    r"(?: [0-9]+\.[0-9]s)?(?P<done> done)?$")
KNOWN = re.compile(r"^(exporting |naming to |unpacking to |pushing layers$|"
                   r"pushing manifest for |sending tarball$|copying files$)")
TRANSFER = re.compile(r"^(?:pushing|pushed|retrying|pulling|pulled) "
                      r"(sha256:[0-9a-f]{12,})$")


def status_of(rest):
    """(id, done) when rest is a status line, else None (a log line)."""
    m = STATUS.match(rest)
    sid, done = m.group("id"), bool(m.group("done"))
    t = TRANSFER.match(sid)
    if t:
        return t.group(1), done
    if done or KNOWN.match(sid):
        return sid, done
    return None


def plain(lines, statuses=False):
    name, end, order, running = {}, {}, [], {}
    step = re.compile(r"^#([0-9]+) (.+)$")
    for line in lines:
        if not line or MSG.match(line):
            continue
        m = step.match(line)
        if not m:
            fail("not a step line", line)
        n, rest = int(m.group(1)), m.group(2)
        if n < 1:
            fail("step number below 1", line)
        if n in end:
            fail("a line after the step ended", line)
        if n not in name:
            if n != len(order) + 1:
                fail("steps not numbered in order", line)
            name[n] = rest
            order.append(n)
            continue
        if rest == "...":
            continue
        if re.match(r"^DONE [0-9]+\.[0-9]s$", rest):
            end[n] = "DONE"
        elif rest == "CACHED":
            end[n] = "CACHED"
        elif rest.startswith("ERROR: "):
            end[n] = "ERROR"
        elif statuses:
            st = status_of(rest)
            if st and st[1]:
                running.get(n, set()).discard(st[0])
            elif st:
                running.setdefault(n, set()).add(st[0])
            continue
        if statuses and running.get(n):
            fail("step #%d ended with statuses never done: %s" %
                 (n, ", ".join(sorted(running[n]))), line)
    for n in order:
        if n not in end:
            fail("step #%d never ended" % n)
    return [(end[n], name[n]) for n in order]


def rawjson(lines, statuses=False):
    top = {"vertexes", "statuses", "logs", "warnings"}
    vk = {"digest", "inputs", "name", "started", "completed", "cached",
          "error", "progressGroup"}
    sk = {"id", "vertex", "name", "total", "current", "timestamp", "started",
          "completed"}
    lk = {"vertex", "stream", "data", "timestamp"}
    wk = {"vertex", "level", "short", "detail", "url", "sourceInfo",
          "ranges"}
    seen, order, running = {}, [], {}
    for line in lines:
        if MSG.match(line):
            continue
        try:
            o = json.loads(line)
        except ValueError:
            fail("not JSON", line)
        if not isinstance(o, dict) or not o or not set(o) <= top:
            fail("not a SolveStatus", line)
        for v in o.get("vertexes", []):
            if not set(v) <= vk or not re.match(r"^sha256:[0-9a-f]{64}$",
                                                v.get("digest", "")):
                fail("bad vertex", line)
            if not TS.match(v.get("started", "")):
                fail("bad started time", line)
            d = v["digest"]
            if d not in seen:
                order.append(d)
                seen[d] = [None, v["name"]]
            if "completed" in v:
                if not TS.match(v["completed"]):
                    fail("bad completed time", line)
                if statuses and running.get(d):
                    fail("vertex %r completed with statuses never "
                         "completed: %s" % (v["name"], ", ".join(
                             sorted(running[d]))), line)
                seen[d][0] = ("ERROR" if "error" in v else
                              "CACHED" if v.get("cached") else "DONE")
        for s in o.get("statuses", []):
            if not set(s) <= sk or not {"id", "current", "timestamp"} <= set(s):
                fail("bad status", line)
            if s.get("vertex") not in seen or not isinstance(s["current"],
                                                               int):
                fail("status of no known vertex", line)
            if "completed" in s:
                running.get(s["vertex"], set()).discard(s["id"])
            else:
                running.setdefault(s["vertex"], set()).add(s["id"])
        for lg in o.get("logs", []):
            if not set(lg) <= lk or not TS.match(lg.get("timestamp", "")):
                fail("bad log", line)
            if lg.get("vertex") not in seen:
                fail("log of no known vertex", line)
            base64.b64decode(lg["data"], validate=True)
        for w in o.get("warnings", []):
            if not set(w) <= wk:
                fail("bad warning", line)
    for d in order:
        if seen[d][0] is None:
            fail("vertex %r never completed" % seen[d][1])
    return [tuple(seen[d]) for d in order]


def ordered(lines, regexes):
    """Each line matching regexes[i] before the first matching [i + 1]."""
    at = []
    for r in regexes:
        hits = [i for i, line in enumerate(lines) if re.search(r, line)]
        if not hits:
            fail("no line matches %r" % r)
        at.append((r, hits))
    for (ra, a), (rb, b) in zip(at, at[1:]):
        if a[-1] > b[0]:
            fail("%r comes after %r" % (ra, rb), lines[a[-1]])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["plain", "rawjson"])
    p.add_argument("file")
    p.add_argument("--summary")
    p.add_argument("--tail")
    p.add_argument("--statuses", action="store_true")
    p.add_argument("--order", action="append", default=[])
    a = p.parse_args()
    with open(a.file, encoding="utf-8") as f:
        lines = f.read().splitlines()
    body = split(lines, a.summary, a.tail)
    steps = (plain(body, a.statuses) if a.mode == "plain" else
             rawjson(body, a.statuses))
    ordered(body, a.order)
    if not steps:
        fail("no steps")
    for outcome, name in steps:
        print("STEP %s %s" % (outcome, name))


main()
