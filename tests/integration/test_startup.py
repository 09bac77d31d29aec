# SPDX-License-Identifier: GPL-2.0-or-later
"""havend start-up failures: each one exits with a clear message naming the
file at fault and a plain nonzero exit status, never a crash (a signal, or a
sanitizer report, which an ASan build turns into exit status 1)."""
import getpass
import hashlib
import os
import pwd
import shutil
import signal
import sqlite3

from daemontest import HAVEND, SIM_BOARD, Daemon
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
        d.init_device()
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
        # the key outside the state dir, so that only the state dir is at fault
        rewrite(d.conf, f"key={ws.dir}/state/device.key", f"key={ws.dir}/device.key")
        d.init_device()
        shutil.rmtree(ws.path("state"))
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



def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def typo_in_key_path():
    """issue 9 item 3: a typo in key= made havend create the directory and a
    new device key; now it is a configuration error naming the path, and
    nothing is created"""
    ws = Workspace()
    try:
        d = Daemon(ws)
        typo = ws.path("nonexistent", "dir", "device.key")
        rewrite(d.conf, f"key={ws.dir}/state/device.key", f"key={typo}")
        p = expect_clean_failure(d.conf, 2, [typo])
        assert "--init-device" in p.stderr, p.stderr
        assert not os.path.exists(ws.path("nonexistent")), "created the key's directory"
        assert not os.path.exists(ws.path("state")), "touched the state before the key loaded"
        p = run(HAVEND, "--config", d.conf, "--check-config", "--user", getpass.getuser())
        assert p.returncode == 2 and f"[device] key: '{typo}' does not exist" in p.stderr, p.stderr
        # --init-device does not create the directory of a mistyped path either
        p = run(HAVEND, "--config", d.conf, "--init-device", "--user", getpass.getuser())
        assert p.returncode == 2 and typo in p.stderr and "does not exist" in p.stderr, p.stderr
        assert not os.path.exists(ws.path("nonexistent")), "--init-device created the key's directory"
        # the right path, key never provisioned: the same configuration error
        rewrite(d.conf, f"key={typo}", f"key={ws.dir}/state/device.key")
        expect_clean_failure(d.conf, 2, [ws.path("state", "device.key")])
        assert not os.path.exists(ws.path("state", "device.key"))
    finally:
        ws.cleanup()


R.case("typo'd device key path: exit 2 naming it, no directory or key created", typo_in_key_path)


def init_device_refuses_overwrite():
    ws = Workspace()
    try:
        d = Daemon(ws)
        key = ws.path("state", "device.key")
        p = d.init_device(check=0)
        with open(key + ".pub") as f:
            pub = f.read()
        assert "device id:" in p.stdout and key + ".pub" in p.stdout, p.stdout
        mode = os.stat(key).st_mode & 0o777
        assert mode == 0o600, oct(mode)
        with open(ws.path("state", "device-state")) as f:
            assert "next 1\n" in f.read()
        before = digest(key)
        p = d.init_device(check=1)
        assert "refusing to overwrite" in p.stderr and key in p.stderr, p.stderr
        assert digest(key) == before
        # a device state without its key (key lost or key= wrong): not papered over
        os.rename(key, key + ".away")
        os.rename(key + ".pub", key + ".pub.away")
        p = d.init_device(check=1)
        assert "device state is there without a device key" in p.stderr, p.stderr
        assert not os.path.exists(key)
        os.rename(key + ".away", key)
        os.rename(key + ".pub.away", key + ".pub")
        # provisioned: havend starts and records under that key
        d.start()
        try:
            with open(key + ".pub") as f:
                assert f.read() == pub
            st = d.status()
            assert st["state"] == "IDLE" and not st["fault"], st
            # while havend runs, even --replace is refused (it holds the state directory)
            p = d.init_device("--replace", check=1)
            assert "another havend is running" in p.stderr, p.stderr
            assert digest(key) == before
        finally:
            d.stop()
    finally:
        ws.cleanup()


R.case("--init-device creates key and state once, then refuses to overwrite", init_device_refuses_overwrite)


def replace_device_key():
    ws = Workspace()
    try:
        d = Daemon(ws).start()
        key = ws.path("state", "device.key")
        old_id = d.status()["device"]
        d.stop()
        old = digest(key)
        p = d.init_device("--replace", check=0)
        assert "replaced the device key" in p.stdout and old_id in p.stdout, p.stdout
        archived = [n for n in os.listdir(ws.path("state")) if n.startswith("device.key.replaced-")]
        assert len(archived) == 2, archived                     # the key and its .pub
        secret = next(ws.path("state", n) for n in archived if not n.endswith(".pub"))
        assert digest(secret) == old, "the old key was not kept as it was"
        assert digest(key) != old
        states = [n for n in os.listdir(ws.path("state")) if n.startswith("device-state.replaced-")]
        assert len(states) == 1, os.listdir(ws.path("state"))
        db = sqlite3.connect(ws.path("state", "catalog.db"))
        rows = db.execute("SELECT actor, action, result FROM audit WHERE action = 'replace device key'").fetchall()
        db.close()
        assert len(rows) == 1 and old_id in rows[0][2] and secret in rows[0][2], rows
        d.start()
        try:
            st = d.status()
            assert st["device"] != old_id and st["state"] == "IDLE" and not st["fault"], st
            assert st["device"] in rows[0][2], (st, rows)
        finally:
            d.stop()
    finally:
        ws.cleanup()


R.case("--init-device --replace archives the old key and state, audits old and new ids", replace_device_key)


def check_config_reports_everything():
    """issue 9 item 4: every problem in one run, each naming file, group and key"""
    ws = Workspace()
    try:
        board = ws.path("twice.board")
        with open(SIM_BOARD) as f:
            text = f.read()
        with open(board, "w") as f:      # the marker on the record button's pin
            f.write(text.replace("[signal.marker]\nchip=sim\nline=1", "[signal.marker]\nchip=sim\nline=0"))
        d = Daemon(ws, extra="[device]\ncontrol-group=no-such-group-hv\n[storage]\nroot=/x\n[vidoe]\nfps=5\n")
        with open(ws.path("afile"), "w") as f:
            f.write("a regular file\n")
        rewrite(d.conf, os.path.abspath(SIM_BOARD), board)
        rewrite(d.conf, f"roots={ws.dir}/storage", f"roots={ws.dir}/afile;{ws.dir}/missing")
        user = getpass.getuser()
        if os.geteuid() == 0:
            # mode 0600 owned by root: fine for root, Permission denied for the service user
            user = pwd.getpwuid(65534).pw_name
            os.chmod(ws.dir, 0o755)
            os.chmod(ws.path("cust.pub"), 0o600)
        else:
            os.chmod(ws.path("cust.pub"), 0)
        p = run(HAVEND, "--config", d.conf, "--check-config", "--user", user)
        want = [
            "[storage] root: unknown key; did you mean 'roots'?",
            "[vidoe]: unknown group; did you mean [video]?",
            "[device] control-group: group 'no-such-group-hv' does not exist",
            f"[signal.marker] line: 0 of chip 'sim' is already used by [signal.record]",
            f"'{ws.dir}/afile' is not a directory (a regular file)",
            f"'{ws.dir}/missing' does not exist",
            f"[device] key: '{ws.dir}/state/device.key' does not exist",
            f"'{ws.dir}/cust.pub' is not readable by user {user}",
        ]
        if os.geteuid() == 0:   # the workspace is root's: the service user cannot create the state dir
            want.append(f"[device] state-dir: '{ws.dir}/state' does not exist, and user {user} cannot create it")
        assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
        for w in want:
            assert w in p.stderr, f"{w!r} not in:\n{p.stderr}"
        assert f"{len(want)} problems found" in p.stderr, p.stderr
        assert not os.path.exists(ws.path("state")), "--check-config created something"
        # a board for hardware this machine does not have
        rpi4 = os.path.join(os.path.dirname(SIM_BOARD), "rpi4.board")
        if not os.path.exists("/dev/gpiochip0"):
            rewrite(d.conf, board, os.path.abspath(rpi4))
            p = run(HAVEND, "--config", d.conf, "--check-config", "--user", user)
            assert p.returncode == 2 and "GPIO chip 'pinctrl-bcm2711' not found" in p.stderr, p.stderr
        # a board file that is not there names the key that points at it
        rewrite(d.conf, os.path.abspath(rpi4) if not os.path.exists("/dev/gpiochip0") else board,
                ws.path("nosuch.board"))
        p = run(HAVEND, "--config", d.conf, "--check-config", "--user", user)
        assert p.returncode == 2, (p.returncode, p.stderr)
        assert f"{d.conf}: [device] board: {ws.path('nosuch.board')}: " in p.stderr, p.stderr
    finally:
        ws.cleanup()


R.case("--check-config reports every problem in one run, as the service user", check_config_reports_everything)


def check_config_ok():
    ws = Workspace()
    try:
        d = Daemon(ws)
        d.init_device()
        os.makedirs(ws.path("storage"))
        p = run(HAVEND, "--config", d.conf, "--check-config", "--user", getpass.getuser())
        assert p.returncode == 0 and "OK" in p.stdout, p.stdout + p.stderr
    finally:
        ws.cleanup()


R.case("--check-config: a provisioned device with its storage is OK", check_config_ok)

R.finish()
