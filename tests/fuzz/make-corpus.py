#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Regenerate the seed corpora in tests/fuzz/corpus/ (small files, committed).

  python3 tests/fuzz/make-corpus.py BUILD_DIR

BUILD_DIR is any build of the tree with tests/hv-mksession and tools/haven
(e.g. build-asan). Sessions are real, signed and tiny, so the fuzzer starts
from inputs that reach every verification step; board and configuration
seeds are the shipped files plus a few hand-written variants."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
FILES = ["header.hvh", "seal.hvs", "index.hvi", "records.hvr"]


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def pack(*sessions):
    """fuzz-vault-dir input: per session four u32 sizes, then the files."""
    out = b""
    for s in sessions:
        parts = []
        for name in FILES:
            p = os.path.join(s, name)
            parts.append(open(p, "rb").read() if os.path.exists(p) else None)
        out += struct.pack("<4I", *[0xffffffff if p is None else len(p) for p in parts])
        out += b"".join(p for p in parts if p is not None)
    return out


def vault(build):
    mk = os.path.join(build, "tests", "hv-mksession")
    haven = os.path.join(build, "tools", "haven")
    tmp = tempfile.mkdtemp(prefix="haven-corpus-")
    try:
        subprocess.run([haven, "keygen", "--out", os.path.join(tmp, "cust")], check=True,
                       capture_output=True)

        def session(name, *extra):
            d = os.path.join(tmp, name)
            subprocess.run([mk, "--device-key", os.path.join(tmp, "dev.key"), "--recipient",
                            os.path.join(tmp, "cust.pub"), "--out", d, "--no-sync", *extra],
                           check=True, capture_output=True)
            return d

        s1 = session("s1", "--bytes", "600", "--commit-every", "200", "--markers", "2")
        s2 = session("s2", "--seq", "2", "--prev", s1, "--bytes", "300", "--commit-every", "100")
        s3 = session("s3", "--seq", "3", "--prev", s2, "--bytes", "200", "--no-seal")
        s4 = session("s4", "--seq", "4", "--bytes", "200", "--status", "io-failed")
        write("vault-dir", "complete", pack(s1))
        write("vault-dir", "ledger-chain", pack(s1, s2, s3))
        write("vault-dir", "unsealed", pack(s3))
        write("vault-dir", "io-failed", pack(s4))
        for name in FILES[:3]:
            write("vault", name.replace(".", "-"), open(os.path.join(s1, name), "rb").read())
        write("vault", "checkpoint", open(os.path.join(s1, "index.hvi"), "rb").read()[:136])
        write("vault", "record-header", open(os.path.join(s1, "records.hvr"), "rb").read()[:40])
    finally:
        shutil.rmtree(tmp)


def text_seeds():
    for f in os.listdir(os.path.join(SRC, "board", "boards")):
        shutil.copy(os.path.join(SRC, "board", "boards", f), os.path.join(CORPUS, "board", f))
    write("board", "minimal", "[board]\nname=x\nbackend=sim\n")
    write("board", "active-low", "[board]\nname=x\nbackend=libgpiod\n[signal.record]\nchip=gpiochip0\n"
          "line=17\nactive-low=true\nbias=pull-up\ndebounce-ms=5\n")
    shutil.copy(os.path.join(SRC, "board", "systemd", "haven.conf.example"),
                os.path.join(CORPUS, "config", "example"))
    write("config", "minimal", "[device]\nroom=Room 1\nstate-dir=/nonexistent/state\n"
          "[storage]\nroots=/nonexistent/a;/nonexistent/b\n[video]\ncamera1=test\ncamera2=test\n")
    write("config", "unknown-key", "[device]\nbogus=1\n")
    write("config", "testing", "[testing]\n[audio]\n[buttons]\nhold-to-stop-ms=1500\n")
    for name, line in (("status", '{"command":"status"}\n'),
                       ("mark", '{"command":"mark","text":"door opened"}\n'),
                       ("sim", '{"command":"sim","action":"press","signal":"record"}\n'),
                       ("not-string", '{"command":1}\n'),
                       ("no-newline", '{"command":"status"}'),
                       ("array", '[1,2,3]\n'),
                       ("bad-utf8", b'{"command":"\xff"}\n')):
        write("control", name, line)


def enrollment(build):
    """A real enrollment file (havend --write-enrollment) and a tampered copy."""
    havend = os.path.join(build, "firmware", "havend")
    tmp = tempfile.mkdtemp(prefix="haven-corpus-")
    try:
        conf = os.path.join(tmp, "haven.conf")
        key = os.path.join(tmp, "device.key")
        subprocess.run([os.path.join(build, "tools", "haven"), "keygen", "--out", os.path.join(tmp, "cust")],
                       check=True, capture_output=True)
        with open(conf, "w") as f:
            f.write(f'[device]\nroom=Room "A"\nkey={key}\nstate-dir={tmp}/state\n[storage]\nroots={tmp}\n'
                    f'[custodians]\nrecipients={tmp}/cust.pub\n')
        import getpass
        subprocess.run([havend, "--config", conf, "--init-device", "--user", getpass.getuser()], check=True,
                       capture_output=True)
        out = os.path.join(tmp, "enrollment.conf")
        subprocess.run([havend, "--config", conf, "--write-enrollment", out, "--image-version", "2026.11.1"],
                       check=True, capture_output=True)
        data = open(out).read()
        write("enrollment", "valid", data)
        write("enrollment", "tampered-room", data.replace("room=Room", "room=Roon"))
    finally:
        shutil.rmtree(tmp)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for t in ("vault", "vault-dir", "board", "config", "control", "enrollment"):
        os.makedirs(os.path.join(CORPUS, t), exist_ok=True)
    vault(os.path.abspath(sys.argv[1]))
    enrollment(os.path.abspath(sys.argv[1]))
    text_seeds()


if __name__ == "__main__":
    main()
