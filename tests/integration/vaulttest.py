# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers for the black-box vault tests: run the built binaries,
make sessions, parse just enough of the format to tamper with it."""
import os
import shutil
import struct
import subprocess
import sys
import traceback
import tempfile

BUILD = os.environ.get("HAVEN_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
HAVEN = os.path.join(BUILD, "tools", "haven")
MKSESSION = os.path.join(BUILD, "tests", "hv-mksession")

REC_HDR = 40
CHECKPOINT = 136


def run(*args, check=None, **kw):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if check is not None and p.returncode != check:
        raise AssertionError(f"{args[0]} {args[1:]} exited {p.returncode}, expected {check}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


class Workspace:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="haven-test-")
        run(HAVEN, "keygen", "--out", self.path("cust"), check=0)
        run(HAVEN, "keygen", "--out", self.path("cust2"), check=0)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def session(self, name, *extra, key="dev.key", recipients=("cust.pub",), check=0):
        args = [MKSESSION, "--device-key", self.path(key), "--out", self.path(name)]
        for r in recipients:
            args += ["--recipient", self.path(r)]
        p = run(*args, *extra, check=check)
        return self.path(name)

    def copy(self, src, dst):
        shutil.copytree(self.path(src), self.path(dst))
        return self.path(dst)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def records(session):
    """(offset, header bytes, payload length) of every record."""
    out = []
    with open(os.path.join(session, "records.hvr"), "rb") as f:
        data = f.read()
    off = 0
    while off + REC_HDR <= len(data):
        h = data[off:off + REC_HDR]
        (length,) = struct.unpack_from("<I", h, 32)
        out.append((off, h, length))
        off += REC_HDR + length
    return out, data


def record_type(h):
    return struct.unpack_from("<H", h, 4)[0]


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


class Runner:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def case(self, label, fn):
        only = os.environ.get("HAVEN_TEST_CASE")  # run just the cases whose label holds this text
        if only and only not in label:
            return
        try:
            fn()
            self.passed += 1
            print(f"ok   {label}")
        except Exception as e:  # a failing case is reported, the rest still run
            self.failed += 1
            print(f"FAIL {label}: {e or repr(e)}")
            if not str(e):  # an assert without a message: say where
                traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)
