# SPDX-License-Identifier: GPL-2.0-or-later
"""Tamper tests: every change, loss, reorder or substitution gives INVALID and
exit status 1 with the problem named; untouched sessions give 0."""
import os
import struct

from vaulttest import (HAVEN, CHECKPOINT, REC_HDR, Runner, Workspace, flip, record_type,
                       records, run)

FILES = ["header.hvh", "records.hvr", "index.hvi", "seal.hvs"]

ws = Workspace()
R = Runner("tamper")
base = ws.session("base", "--bytes", "400000", "--commit-every", "100000", "--markers", "2")
other = ws.session("other", "--bytes", "400000", "--commit-every", "100000", "--markers", "2")


def invalid(session, *words, extra=()):
    p = run(HAVEN, "verify", *extra, session)
    assert p.returncode == 1, f"exit {p.returncode}: {p.stdout}{p.stderr}"
    line = p.stdout.splitlines()[0]
    assert line.startswith("INVALID") or "LEDGER" in p.stdout, p.stdout
    for w in words:
        assert w in p.stdout, f"'{w}' not in: {p.stdout}"
    return p.stdout


def intact(session, *extra):
    p = run(HAVEN, "verify", *extra, session)
    assert p.returncode == 0, f"exit {p.returncode}: {p.stdout}{p.stderr}"
    return p.stdout


R.case("untouched session verifies", lambda: intact(base))

n = [0]


def fresh():
    n[0] += 1
    return ws.copy("base", f"t{n[0]}")


for name in FILES:
    size = os.path.getsize(os.path.join(base, name))
    for where, off in (("first", 0), ("middle", size // 2), ("last", size - 1)):
        def bitflip(name=name, off=off):
            s = fresh()
            flip(os.path.join(s, name), off)
            invalid(s, name)
        R.case(f"bit flip at the {where} byte of {name}", bitflip)


def truncate_at_boundary():
    s = fresh()
    recs, data = records(s)
    with open(os.path.join(s, "records.hvr"), "r+b") as f:
        f.truncate(recs[-2][0])
    invalid(s, "records.hvr")


def truncate_inside():
    s = fresh()
    recs, _ = records(s)
    with open(os.path.join(s, "records.hvr"), "r+b") as f:
        f.truncate(recs[-3][0] + REC_HDR + 100)
    invalid(s, "records.hvr")


R.case("records truncated at a chunk boundary", truncate_at_boundary)
R.case("records truncated inside a chunk", truncate_inside)


def rewrite_records(s, fn):
    recs, data = records(s)
    chunks = [data[o:o + REC_HDR + l] for o, h, l in recs]
    chunks = fn(chunks, recs)
    with open(os.path.join(s, "records.hvr"), "wb") as f:
        f.write(b"".join(chunks))


def media_indexes(recs):
    return [i for i, (o, h, l) in enumerate(recs) if record_type(h) == 1]


def reorder():
    s = fresh()
    def f(chunks, recs):
        m = media_indexes(recs)
        a, b = m[1], m[2]
        chunks[a], chunks[b] = chunks[b], chunks[a]
        return chunks
    rewrite_records(s, f)
    invalid(s, "records.hvr")


def duplicate():
    s = fresh()
    rewrite_records(s, lambda c, r: c[:3] + [c[2]] + c[3:])
    invalid(s, "records.hvr")


def insert_foreign():
    s = fresh()
    orecs, odata = records(other)
    o, h, l = orecs[2]
    foreign = odata[o:o + REC_HDR + l]
    rewrite_records(s, lambda c, r: c[:2] + [foreign] + c[2:])
    invalid(s, "records.hvr")


def replace_foreign():
    s = fresh()
    orecs, odata = records(other)
    o, h, l = orecs[2]
    foreign = odata[o:o + REC_HDR + l]
    rewrite_records(s, lambda c, r: c[:2] + [foreign] + c[3:])
    invalid(s, "records.hvr")


R.case("chunk reordered", reorder)
R.case("chunk duplicated", duplicate)
R.case("chunk inserted from another session", insert_foreign)
R.case("chunk replaced by one from another session", replace_foreign)

for name in FILES:
    def swap_file(name=name):
        s = fresh()
        with open(os.path.join(other, name), "rb") as src, open(os.path.join(s, name), "wb") as dst:
            dst.write(src.read())
        invalid(s, name if name != "records.hvr" else "records")
    R.case(f"{name} taken from another session", swap_file)


def header_field(offset, fmt, value, label):
    def f():
        s = fresh()
        p = os.path.join(s, "header.hvh")
        with open(p, "r+b") as fh:
            fh.seek(offset)
            fh.write(struct.pack(fmt, value))
        invalid(s, "header.hvh")
    R.case(f"header field edited: {label}", f)


header_field(64, "<Q", 7, "device sequence")
header_field(104, "<Q", 1234567890, "created time")
header_field(120, "<I", 4096, "chunk size")


def stanza_edit(kind):
    def f():
        s = fresh()
        p = os.path.join(s, "header.hvh")
        b = bytearray(open(p, "rb").read())
        room_len, n = struct.unpack_from("<HH", b, 124)
        st = 184 + room_len
        stanza = bytes(b[st:st + 114])
        sig = b[-64:]
        body = b[:-64]
        if kind == "added":
            struct.pack_into("<H", body, 126, n + 1)
            body = body[:st] + stanza + body[st:]
        elif kind == "removed":
            struct.pack_into("<H", body, 126, n - 1)
            body = body[:st] + body[st + 114:]
        else:
            struct.pack_into("<H", body, st, 111)
        body = bytearray(body)
        struct.pack_into("<I", body, 12, len(body) + 64)
        open(p, "wb").write(bytes(body) + bytes(sig))
        out = invalid(s, "header.hvh")
        if kind == "wrong length":
            assert "has length 111, expected 112" in out, out
    R.case(f"recipient stanza {kind}", f)


for k in ("added", "removed", "wrong length"):
    stanza_edit(k)

for name in FILES:
    def garbage(name=name):
        s = fresh()
        with open(os.path.join(s, name), "ab") as f:
            f.write(b"\0garbage\0")
        invalid(s, name)
    R.case(f"trailing garbage after {name}", garbage)


def two_finals():
    s = fresh()
    def f(chunks, recs):
        m = media_indexes(recs)
        final = bytearray(chunks[m[-1]])
        # a second copy of the final chunk, renumbered to look like the next record
        struct.pack_into("<Q", final, 8, len(chunks))
        return chunks + [bytes(final)]
    rewrite_records(s, f)
    invalid(s, "records.hvr")


R.case("two final chunks", two_finals)


# The seal binds the checkpoint list (FORMAT.md §7 checkpoint_count, index_hash):
# each remaining checkpoint is genuine and signed, only the list is changed.
def rewrite_index(fn):
    def f():
        s = fresh()
        p = os.path.join(s, "index.hvi")
        with open(p, "rb") as fh:
            data = fh.read()
        cps = [data[o:o + CHECKPOINT] for o in range(0, len(data), CHECKPOINT)]
        assert len(cps) >= 4, f"base session has only {len(cps)} checkpoints"
        with open(p, "wb") as fh:
            fh.write(b"".join(fn(cps)))
        invalid(s, "index.hvi")
    return f


R.case("index: every checkpoint but the last dropped", rewrite_index(lambda c: c[-1:]))
R.case("index: one middle checkpoint dropped", rewrite_index(lambda c: c[:1] + c[2:]))
R.case("index: first checkpoint dropped", rewrite_index(lambda c: c[1:]))
R.case("index: two checkpoints swapped", rewrite_index(lambda c: [c[1], c[0]] + c[2:]))
R.case("index: a checkpoint duplicated", rewrite_index(lambda c: c[:2] + [c[1]] + c[2:]))
R.case("index: last checkpoint duplicated at the end", rewrite_index(lambda c: c + c[-1:]))


def missing_file(name):
    def f():
        s = fresh()
        os.unlink(os.path.join(s, name))
        invalid(s, name)
    R.case(f"{name} deleted", f)


for name in FILES:
    missing_file(name)


def other_device():
    s = ws.session("otherdev", key="dev2.key")
    intact(s)
    invalid(s, "not the expected device key", extra=("--device-key", ws.path("dev.key.pub")))
    intact(base, "--device-key", ws.path("dev.key.pub"))


R.case("signature by another device key (--device-key)", other_device)


def missing_middle():
    os.makedirs(ws.path("archive"))
    prev = None
    for i in (1, 2, 3, 4):
        extra = ["--seq", str(i)] + (["--prev", prev] if prev else [])
        prev = ws.session(f"archive/s{i}", *extra, key="ledger.key")
    p = run(HAVEN, "verify", ws.path("archive"))
    assert p.returncode == 0, p.stdout
    assert "verifiable up to sequence 4" in p.stdout, p.stdout
    import shutil
    shutil.rmtree(ws.path("archive/s2"))
    out = invalid(ws.path("archive"), "sequence 2 is missing")
    assert "verifiable up to sequence 1" in out, out


R.case("middle session missing from a device folder", missing_middle)


def replaced_session():
    os.makedirs(ws.path("arch2"))
    a = ws.session("arch2/s1", "--seq", "1", key="l2.key")
    ws.session("arch2/s2", "--seq", "2", "--prev", a, key="l2.key")
    # a different session 1 from the same device (e.g. re-recorded) breaks the link
    import shutil
    shutil.rmtree(a)
    ws.session("arch2/s1", "--seq", "1", key="l2.key")
    invalid(ws.path("arch2"), "does not follow the seal of sequence 1")


R.case("session replaced in a device folder", replaced_session)


def expect_fp():
    fp = intact(base).split("fingerprint ")[1].split()[0]
    intact(base, "--expect", fp.lower().replace("-", " "))
    wrong = ("A" if fp[0] != "A" else "B") + fp[1:]
    invalid(base, "not the expected", extra=("--expect", wrong))
    p = run(HAVEN, "verify", "--expect", "nonsense", base)
    assert p.returncode == 2, p.stdout + p.stderr


R.case("--expect fingerprint", expect_fp)


def json_output():
    import json
    p = run(HAVEN, "verify", "--json", base, check=0)
    doc = json.loads(p.stdout)
    assert doc["intact"] is True and doc["sessions"][0]["verdict"] == "COMPLETE", doc
    s = fresh()
    flip(os.path.join(s, "records.hvr"), 100)
    p = run(HAVEN, "verify", "--json", s, check=1)
    doc = json.loads(p.stdout)
    assert doc["sessions"][0]["verdict"] == "INVALID" and "records.hvr" in doc["sessions"][0]["problem"]


R.case("--json verdicts", json_output)


def usage_errors():
    assert run(HAVEN, "verify").returncode == 2
    assert run(HAVEN, "verify", ws.path("nonexistent")).returncode == 2
    assert run(HAVEN, "verify", "--bogus", base).returncode == 2
    assert run(HAVEN, "verify", "--from-sequence", "0", base).returncode == 2
    assert run(HAVEN, "frobnicate").returncode == 2
    assert run(HAVEN, "verify", "--help").returncode == 0


R.case("usage and I/O errors exit 2", usage_errors)


def fifo_in_place_of_a_file():
    """A FIFO planted where a session file belongs must not hang verify (an
    open() without O_NONBLOCK waits for a writer for ever)."""
    for name in FILES:
        s = fresh()
        os.unlink(os.path.join(s, name))
        os.mkfifo(os.path.join(s, name))
        p = run(HAVEN, "verify", s, timeout=30)
        assert p.returncode == 1, f"{name}: exit {p.returncode}: {p.stdout}{p.stderr}"
        assert "not a regular file" in p.stdout, p.stdout


R.case("a FIFO in place of a session file: INVALID, no hang", fifo_in_place_of_a_file)

ws.cleanup()
R.finish()
