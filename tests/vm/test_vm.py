# SPDX-License-Identifier: GPL-2.0-or-later
"""The virtual board suite: havend in a QEMU VM against the kernel's real GPIO
(gpio-sim), V4L2 (vivid) and ALSA (snd-aloop) drivers, and a power cut.
Each scenario runs in its own boot; results come back over a 9p share and are
checked again here on the host (verify, export). Prints per-scenario timings."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
from vaulttest import HAVEN, Runner, run  # noqa: E402

repo = os.path.abspath(os.path.join(here, "..", ".."))
vm = os.path.join(repo, "board", "qemu", "vm.sh")
build = os.environ.get("HAVEN_BUILD", os.path.join(repo, "build"))
env = dict(os.environ, HAVEN_BUILD=build)
R = Runner("vm")
# HAVEN_VM_ONLY=ready,gpio: only the cases of those functions (prepare always runs)
only = set(filter(None, os.environ.get("HAVEN_VM_ONLY", "").split(",")))
if only:
    _case = R.case
    R.case = lambda label, fn: _case(label, fn) if fn.__name__ in only | {"prepare"} else None
work = tempfile.mkdtemp(prefix="haven-vm-", dir="/var/tmp")
timings = []


def boot(scenario, out, disk=None, timeout=400):
    os.makedirs(out, exist_ok=True)
    args = ["bash", vm, "run", os.path.join(repo, "board", "qemu", scenario), out] + ([disk] if disk else [])
    t0 = time.monotonic()
    p = subprocess.run(args, env=dict(env, HAVEN_VM_TIMEOUT=str(timeout)), capture_output=True, text=True)
    timings.append((scenario, time.monotonic() - t0))
    log = open(os.path.join(out, "scenario.log")).read() if os.path.exists(os.path.join(out, "scenario.log")) else ""
    return log, p


def guest_checks(log):
    fails = [l for l in log.splitlines() if l.startswith("FAIL")]
    passes = [l for l in log.splitlines() if l.startswith("PASS")]
    assert passes and not fails, log
    print("\n".join("     " + l for l in passes))


def prepare():
    t0 = time.monotonic()
    p = subprocess.run(["bash", vm, "prepare"], env=env, capture_output=True, text=True)
    timings.append(("prepare (fetch, unpack, build gpio-sim, initramfs)", time.monotonic() - t0))
    assert p.returncode == 0, p.stdout + p.stderr


R.case("prepare the virtual board", prepare)


def gpio():
    log, _ = boot("scenario-gpio.sh", os.path.join(work, "gpio"))
    guest_checks(log)
    run(HAVEN, "verify", os.path.join(work, "gpio", "sessions"), check=0)


R.case("1. buttons and lights through libgpiod (gpio-sim)", gpio)


def capture():
    out = os.path.join(work, "capture")
    log, _ = boot("scenario-capture.sh", out)
    guest_checks(log)
    sess = [os.path.join(out, "sessions", d) for d in os.listdir(os.path.join(out, "sessions"))][0]
    run(HAVEN, "verify", sess, check=0)
    exp = os.path.join(out, "export")
    run(HAVEN, "export", "--identity", os.path.join(out, "cust.key"), "--out", exp, sess, check=0)
    mp4 = [os.path.join(exp, f) for f in os.listdir(exp) if f.endswith(".mp4")][0]
    info = run("gst-discoverer-1.0", mp4, check=0).stdout
    assert "H.264" in info and "MPEG-4 AAC" in info, info
    lv = run("gst-launch-1.0", "-m", "filesrc", f"location={mp4}", "!", "qtdemux", "!", "aacparse", "!",
             "avdec_aac", "!", "audioconvert", "!", "level", "interval=1000000000", "!", "fakesink").stdout
    peaks = [float(x) for x in re.findall(r"peak=\(GValueArray\)< ([-0-9.e]+) >", lv)]
    assert peaks and max(peaks) > -30, f"audio looks silent: {peaks}"
    print(f"     exported MP4: H.264 + AAC, audio peak {max(peaks):.1f} dB")


R.case("2. real capture: vivid + snd-aloop, verified and exported on the host", capture)



def power_cut():
    out1, out2 = os.path.join(work, "cut1"), os.path.join(work, "cut2")
    os.makedirs(out1)
    disk = os.path.join(work, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(256 << 20)
    run("mkfs.ext4", "-q", "-F", disk, check=0)
    t0 = time.monotonic()
    # writeback: the guest's page cache and the virtual disk's write cache are
    # volatile; what the guest wrote to the disk and flushed is in the image
    p = subprocess.Popen(["bash", vm, "run", os.path.join(repo, "board", "qemu", "scenario-powercut-1.sh"),
                          out1, disk], env=dict(env, HAVEN_VM_TIMEOUT="400"), start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = os.path.join(out1, "recording")
    while not os.path.exists(marker):
        assert p.poll() is None, open(os.path.join(out1, "scenario.log")).read()
        assert time.monotonic() - t0 < 300, "first boot never started recording"
        time.sleep(0.2)
    time.sleep(4)
    os.killpg(p.pid, signal.SIGKILL)  # the power cut: QEMU dies with the guest's caches
    p.wait()
    beats = [int(l) for l in open(os.path.join(out1, "heartbeats")).read().split() if l.strip()]
    alive_us = beats[-1]
    recent = beats[-20:]
    assert len(recent) >= 2, "too few heartbeats"
    gap_us = max(b - a for a, b in zip(recent, recent[1:]))  # the cut came at most this long after the last beat
    timings.append(("scenario-powercut-1.sh (until the cut)", time.monotonic() - t0))
    log, _ = boot("scenario-powercut-2.sh", out2, disk)
    guest_checks(log)
    sess = [os.path.join(out2, "sessions", d) for d in os.listdir(os.path.join(out2, "sessions"))][0]
    v = run(HAVEN, "verify", "--json", sess, check=0).stdout
    import json
    doc = json.loads(v)["sessions"][0]
    assert doc["verdict"] == "INTERRUPTED", doc
    lost = (alive_us + gap_us - doc["last_wall_us"]) / 1e6
    print(f"     lost tail: at most {lost:.2f} s of media (last guest heartbeat "
          f"{(alive_us - doc['last_wall_us']) / 1e6:+.2f} s from the last sealed record, "
          f"heartbeats {gap_us / 1e6:.2f} s apart at worst; goal <= 2 s)")
    assert lost <= 2.0, f"lost up to {lost:.2f} s"
    exp = os.path.join(out2, "export")
    run(HAVEN, "export", "--identity", os.path.join(out1, "cust.key"), "--out", exp, sess, check=0)


R.case("3. power cut on ext4/virtio: INTERRUPTED before green, verifies, lost tail measured", power_cut)


def mic_lost():
    log, _ = boot("scenario-miclost.sh", os.path.join(work, "mic"))
    guest_checks(log)
    run(HAVEN, "verify", os.path.join(work, "mic", "sessions"), check=0)


R.case("4. microphone lost mid-session: fault light and event, video goes on", mic_lost)

def ready():
    out = os.path.join(work, "ready")
    log, _ = boot("scenario-ready.sh", out, timeout=600)
    guest_checks(log)
    print("\n".join("     " + l.strip() for l in log.splitlines() if l.startswith("  (")))
    run(HAVEN, "verify", os.path.join(out, "sessions"), check=0)


R.case("5. camera and sound card unplugged while idle: not green within 5 s, green within 5 s of the replug",
       ready)

for name, secs in timings:
    print(f"timing: {name}: {secs:.1f} s")
print(f"timing: total {sum(s for _, s in timings):.1f} s")
shutil.rmtree(work, ignore_errors=True)
R.finish()
