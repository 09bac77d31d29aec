# SPDX-License-Identifier: GPL-2.0-or-later
"""haven recover, the technician's manual path (issue 8, items 2 and 3): it
never deletes what a signed checkpoint vouches for, changes nothing when it
cannot check, never re-seals a sealed session, and is deterministic."""
import hashlib
import os
import re
import time

from vaulttest import HAVEN, MKSESSION, Runner, Workspace, run

ws = Workspace()
R = Runner("recover")
KEY = ws.path("dev.key")

ws.session("full", "--bytes", "1000000", "--commit-every", "100000")       # COMPLETE, sequence 1
ws.session("crashed", "--bytes", "1000000", "--commit-every", "100000", "--no-seal")


def snapshot(sess):
    out = {}
    for n in ("header.hvh", "records.hvr", "index.hvi", "seal.hvs"):
        p = os.path.join(sess, n)
        out[n] = hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.isfile(p) else os.path.lexists(p)
    return out


def recover(*args):
    return run(HAVEN, "recover", "--device-key", KEY, *args)


def crashed_copy_recovers(name):
    """positive control: the same invocation seals a genuinely crashed copy"""
    c = ws.copy("crashed", name)
    p = recover("--open-seq", "1", c)
    assert p.returncode == 0 and "RECOVERED" in p.stdout, p.stdout + p.stderr
    v = run(HAVEN, "verify", c)
    assert v.stdout.startswith("INTERRUPTED"), v.stdout


def no_seal_no_index():
    crashed_copy_recovers("control-1")
    c = ws.copy("full", "no-index")
    os.unlink(os.path.join(c, "seal.hvs"))
    os.unlink(os.path.join(c, "index.hvi"))
    before = snapshot(c)
    assert os.path.getsize(os.path.join(c, "records.hvr")) > 1000000
    p = recover("--open-seq", "1", c)
    assert p.returncode == 1 and "NOT SEALED" in p.stdout and "nothing was changed" in p.stdout, p.stdout
    assert snapshot(c) == before, "recover changed a session it could not check"


R.case("rm seal.hvs index.hvi: recover changes nothing and says so", no_seal_no_index)


def dangling_seal():
    crashed_copy_recovers("control-2")
    c = ws.copy("full", "dangling")
    os.unlink(os.path.join(c, "seal.hvs"))
    os.symlink("/nonexistent/seal.hvs", os.path.join(c, "seal.hvs"))
    before = snapshot(c)
    p = recover("--open-seq", "1", c)
    assert p.returncode == 1 and "seal.hvs exists but is not a valid seal" in p.stdout, p.stdout
    assert snapshot(c) == before, "recover changed a session with a dangling seal"


R.case("seal.hvs a dangling symlink: recover changes nothing", dangling_seal)


def deterministic():
    a = ws.copy("crashed", "det-a")
    b = ws.copy("crashed", "det-b")
    with open(os.path.join(a, "records.hvr"), "ab") as f:
        f.write(b"\0" * 1234)                          # a torn tail
    with open(os.path.join(b, "records.hvr"), "ab") as f:
        f.write(b"\0" * 1234)
    pa = recover("--open-seq", "1", a)
    time.sleep(1.1)                                     # the wall clock moves between the runs
    pb = recover("--open-seq", "1", b)
    fa = re.search(r"fingerprint (\S+)", pa.stdout)
    fb = re.search(r"fingerprint (\S+)", pb.stdout)
    assert fa and fb and fa.group(1) == fb.group(1), pa.stdout + pb.stdout
    assert open(os.path.join(a, "seal.hvs"), "rb").read() == open(os.path.join(b, "seal.hvs"), "rb").read()


R.case("two recover runs on identical copies give identical seals and fingerprints", deterministic)


def refuses_without_state():
    c = ws.copy("crashed", "no-state")
    before = snapshot(c)
    p = recover(c)
    assert p.returncode == 2 and "--state-dir" in p.stderr and "--open-seq" in p.stderr, p.stderr
    assert snapshot(c) == before


R.case("without --state-dir or --open-seq nothing is sealed", refuses_without_state)


def never_reseals():
    """a sealed sequence 1 with its seal removed, followed by sequence 2: the
    device went on, so 1 was sealed; recover refuses whatever is asserted"""
    root = ws.path("root")
    os.makedirs(root)
    s1 = os.path.join(root, "S000001")
    s2 = os.path.join(root, "S000002")
    run(MKSESSION, "--device-key", KEY, "--recipient", ws.path("cust.pub"), "--out", s1, check=0)
    run(MKSESSION, "--device-key", KEY, "--recipient", ws.path("cust.pub"), "--out", s2, "--seq", "2",
        "--prev", s1, check=0)
    os.unlink(os.path.join(s1, "seal.hvs"))
    with open(os.path.join(s1, "index.hvi"), "r+b") as f:
        f.truncate(136)
    before = snapshot(s1)
    p = recover("--open-seq", "1", root)
    assert p.returncode == 2 and "went on to sequence 2" in p.stderr, p.stdout + p.stderr
    assert snapshot(s1) == before
    # and naming the sealed sequence 2 as open seals nothing either
    p = recover("--open-seq", "2", root)
    assert p.returncode == 1 and "S000001: NOT SEALED" not in p.stdout and "NOT SEALED" in p.stdout, p.stdout
    assert snapshot(s1) == before


R.case("recover never re-seals a sequence the device went on from", never_reseals)

ws.cleanup()
R.finish()
