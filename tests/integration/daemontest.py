# SPDX-License-Identifier: GPL-2.0-or-later
"""Run the real havend on the sim board in a temp dir and talk to it with haven."""
import getpass
import json
import os
import signal
import subprocess
import time

from vaulttest import BUILD, HAVEN, Workspace, run

HAVEND = os.path.join(BUILD, "firmware", "havend")
SIM_BOARD = os.path.join(os.path.dirname(__file__), "..", "..", "board", "boards", "sim.board")

CONFIG = """[device]
room=Test room
board={board}
key={dir}/state/device.key
state-dir={dir}/state
control-socket={dir}/control.sock

[storage]
roots={dir}/storage
min-free-minutes=1

[custodians]
recipients={dir}/cust.pub

[video]
camera1=test

{extra}
"""


class Daemon:
    def __init__(self, ws, extra="", name="haven.conf"):
        self.ws = ws
        self.conf = ws.path(name)
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(board=os.path.abspath(SIM_BOARD), dir=ws.dir, extra=extra))
        self.sock = ws.path("control.sock")
        self.env = dict(os.environ, HAVEN_SOCKET=self.sock)
        self.proc = None
        self.log = None

    def key_path(self):
        with open(self.conf) as f:
            return next(l[4:].strip() for l in f if l.startswith("key="))

    def init_device(self, *extra, check=0):
        """Provision the device as a technician does once (havend never
        creates a key by itself), as the user the tests run havend as."""
        return run(HAVEND, "--config", self.conf, "--init-device", "--user", getpass.getuser(), *extra,
                   check=check)

    def start(self, wait=True):
        if not os.path.exists(self.key_path()):
            self.init_device()
        self.log = open(self.ws.path("havend.log"), "a")
        self.proc = subprocess.Popen([HAVEND, "--config", self.conf], stdout=self.log, stderr=self.log)
        if wait:
            self.wait(lambda s: s["state"] in ("IDLE", "FAULT"), 20, "havend to come up")
        return self

    def haven(self, *args, check=None):
        return run(HAVEN, *args, env=self.env, check=check)

    def status(self):
        p = self.haven("status", "--json")
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)

    def lights(self):
        return self.status()["lights"]

    def wait(self, pred, timeout, what):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            if self.proc and self.proc.poll() is not None:
                raise AssertionError(f"havend exited {self.proc.returncode} while waiting for {what}")
            last = self.status()
            if last is not None and pred(last):
                return last
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; last status {last}")

    def press(self, hold=0.0, signal_name="record"):
        self.haven("sim", "press", signal_name, check=0)
        if hold:
            time.sleep(hold)
        self.haven("sim", "release", signal_name, check=0)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        if self.log:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def sessions(self):
        root = self.ws.path("storage")
        return sorted(os.path.join(root, d) for d in os.listdir(root)) if os.path.exists(root) else []
