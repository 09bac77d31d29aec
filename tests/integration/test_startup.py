# SPDX-License-Identifier: GPL-2.0-or-later
"""havend start-up failures: each one exits with a clear message naming the
file at fault and a plain nonzero exit status, never a crash (a signal, or a
sanitizer report, which an ASan build turns into exit status 1)."""
import os
import signal

from daemontest import HAVEND, Daemon
from vaulttest import Runner, Workspace, run

R = Runner("startup")


def rewrite(conf, old, new):
    with open(conf) as f:
        text = f.read()
    assert old in text, old
    with open(conf, "w") as f:
        f.write(text.replace(old, new))


def expect_clean_failure(conf, code, names):
    p = run(HAVEND, "--config", conf, timeout=60)
    assert p.returncode == code, f"exit {p.returncode} (expected {code}), stderr: {p.stderr}"
    assert p.returncode > 0 and p.returncode < 128, p.returncode   # not killed by a signal
    for bad in ("AddressSanitizer", "runtime error", "LeakSanitizer", "Segmentation"):
        assert bad not in p.stderr, p.stderr
    lines = [l for l in p.stderr.splitlines() if l.startswith("havend: ")]
    assert lines, f"no 'havend: ...' error line: {p.stderr}"
    assert any(n in lines[-1] for n in names), f"{names} not named in {lines[-1]!r}"
    return p


def damaged_device_key():
    ws = Workspace()
    try:
        d = Daemon(ws)
        os.makedirs(ws.path("state"))
        key = ws.path("state", "device.key")
        with open(key, "w") as f:
            f.write("haven-device-secret-v1 this-is-not-base64\n")
        expect_clean_failure(d.conf, 1, [key])
        with open(key, "wb") as f:
            f.write(b"")
        expect_clean_failure(d.conf, 1, [key])
        assert not os.path.exists(ws.path("control.sock"))
    finally:
        ws.cleanup()


R.case("damaged device.key: exit 1 naming the key file, no crash", damaged_device_key)


def uncreatable_state_dir():
    ws = Workspace()
    try:
        d = Daemon(ws)
        with open(ws.path("blocker"), "w") as f:
            f.write("a file where a directory should be\n")
        rewrite(d.conf, f"state-dir={ws.dir}/state", f"state-dir={ws.dir}/blocker/state")
        expect_clean_failure(d.conf, 1, [ws.path("blocker", "state")])
    finally:
        ws.cleanup()


R.case("uncreatable state dir (under a file): exit 1 naming it, no crash", uncreatable_state_dir)


def unwritable_state_dir():
    ws = Workspace()
    try:
        d = Daemon(ws)
        # the state dir is a file: nothing can be written in it (also as root)
        with open(ws.path("state"), "w") as f:
            f.write("not a directory\n")
        expect_clean_failure(d.conf, 1, [ws.path("state")])
        os.unlink(ws.path("state"))
        if os.geteuid() != 0:  # permissions stop everyone but root
            os.makedirs(ws.path("state"), mode=0o500)
            expect_clean_failure(d.conf, 1, [ws.path("state")])
    finally:
        ws.cleanup()


R.case("unwritable state dir: exit 1 naming it, no crash", unwritable_state_dir)


def unreadable_recipients():
    ws = Workspace()
    try:
        d = Daemon(ws)
        pub = ws.path("cust.pub")
        os.rename(pub, pub + ".away")
        os.makedirs(pub)                        # cannot be read as a file
        expect_clean_failure(d.conf, 2, [pub])
        os.rmdir(pub)
        with open(pub, "w") as f:               # readable, but not a recipient
            f.write("\x00\x01garbage\n")
        expect_clean_failure(d.conf, 2, [pub])
        if os.geteuid() != 0:
            os.rename(pub + ".away", pub)
            os.chmod(pub, 0)
            expect_clean_failure(d.conf, 2, [pub])
        assert not os.path.exists(ws.path("state")), "touched state before validating"
    finally:
        ws.cleanup()


R.case("unreadable recipients file: exit 2 naming it, no crash", unreadable_recipients)


def missing_board_file():
    ws = Workspace()
    try:
        d = Daemon(ws)
        board = ws.path("no-such.board")
        with open(d.conf) as f:
            text = f.read()
        start = text.index("board=") + len("board=")
        end = text.index("\n", start)
        with open(d.conf, "w") as f:
            f.write(text[:start] + board + text[end:])
        expect_clean_failure(d.conf, 2, [board])
        assert not os.path.exists(ws.path("state")), "touched state before validating"
    finally:
        ws.cleanup()


R.case("missing board file: exit 2 naming it, no crash", missing_board_file)

R.finish()
