# SPDX-License-Identifier: GPL-2.0-or-later
"""The board image boot test (label image): build Haven's arm64 packages and
the virt board image, flash it to a file-backed disk, provision it, boot it
twice in qemu-system-aarch64 (TCG, -M virt -cpu cortex-a72 -smp 2) and check
from the outside: the serial console, the config partition (mtools) and the
data partition (debugfs) after power-off. The recordings are verified on this
machine with `haven verify`, pinned to the key the board enrolled.

The guest is driven without anything in the image: the test boots the kernel
and initrd read from the flashed disk's own boot partition (-kernel/-initrd,
with the image's cmdline.txt) and appends  systemd.run="/bin/sh /dev/vdb",
vdb being a small second disk holding guest-check.sh, which runs its checks as
a transient service after multi-user.target and powers off. Prints timings.

Environment: HAVEN_BUILD (the host build: tools/haven), HAVEN_BUILD_CACHE
(default /var/cache/haven-build), HAVEN_IMAGE_DEBS=DIR to use prebuilt arm64
packages instead of tools/build-debs.sh, HAVEN_IMAGE_KEEP=1 keeps the work dir."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
from vaulttest import HAVEN, Runner, run  # noqa: E402

repo = os.path.abspath(os.path.join(here, "..", ".."))
R = Runner("image")
work = tempfile.mkdtemp(prefix="haven-image-", dir="/var/tmp")
timings = []
st = {}  # what one case leaves for the next
GIB = 1 << 30
DISK_SIZE = 12 * GIB  # the default min-free-minutes (180) at 3 Mbit/s needs ~4.2 GB free


def timed(label, fn):
    t0 = time.monotonic()
    try:
        return fn()
    finally:
        timings.append((label, time.monotonic() - t0))


def sh(*args, **kw):
    p = subprocess.run(list(args), capture_output=True, text=True, **kw)
    assert p.returncode == 0, f"{' '.join(args)} exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p.stdout


def debs():
    given = os.environ.get("HAVEN_IMAGE_DEBS")
    if given:
        st["debs"] = given
        return
    # tools/debs-lib.sh's cache, keyed by content: shared with the package label
    p = subprocess.run(["bash", "-c", '. "$1/tools/debs-lib.sh" && hv_debs_cached "$1" arm64', "-", repo],
                       capture_output=True, text=True)
    assert p.returncode == 0, f"arm64 packages: exit {p.returncode}\n{p.stderr[-3000:]}"
    out = p.stdout.strip().splitlines()[-1]
    st["debs"] = out
    for d in glob.glob(os.path.join(out, "*_arm64.deb")):
        arch = sh("dpkg-deb", "-f", d, "Architecture").strip()
        assert arch == "arm64", f"{d}: Architecture {arch}"


R.case("arm64 packages (tools/build-debs.sh, cached by content)", lambda: timed("arm64 packages", debs))


def build():
    out = os.path.join(work, "out")
    sh("bash", os.path.join(repo, "board", "image", "build-image.sh"), "--variant", "virt",
       "--debs", st["debs"], "--out", out)
    imgs = glob.glob(os.path.join(out, "haven-virt-*.img"))
    assert len(imgs) == 1, imgs
    img = imgs[0]
    st["img"] = img
    for ext in (".bmap", ".sha256", ".manifest.json"):
        assert os.path.exists(img + ext), img + ext
    m = json.load(open(img + ".manifest.json"))
    sha = sh("sha256sum", img).split()[0]
    assert m["format"] == 1 and m["sha256"] == sha and m["image"] == os.path.basename(img), m
    assert m["variant"] == "virt" and m["size"] == os.path.getsize(img), m
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", m["built"]), m["built"]
    names = {p["name"]: p for p in m["packages"]}
    assert names["havend"]["version"] == m["haven_version"] and names["havend"]["arch"] == "arm64", names["havend"]
    assert "haven" in names and "linux-image-arm64" in names and "raspi-firmware" in names
    assert open(img + ".sha256").read() == f"{sha}  {os.path.basename(img)}\n"
    mapped = os.stat(img).st_blocks * 512
    print(f"     image {os.path.getsize(img) / GIB:.2f} GiB, {mapped / (1 << 20):.0f} MiB mapped, "
          f"{len(m['packages'])} packages")


R.case("build the virt image (img, bmap, sha256, manifest)", lambda: timed("image build (virt)", build))


def parts(disk):
    """{name: (offset, size)} from the GPT, by partition name."""
    t = json.loads(sh("sfdisk", "--json", disk))["partitiontable"]
    ss = t.get("sectorsize", 512)
    return {p["name"]: (p["start"] * ss, p["size"] * ss) for p in t["partitions"]}


def extract(disk, name, path_in_fs=None):
    """A partition as its own file (debugfs and mtools read files)."""
    off, size = parts(disk)[name]
    f = os.path.join(work, f"{name}.part")
    sh("dd", f"if={disk}", f"of={f}", "bs=1M", f"skip={off}", f"count={size}", "iflag=skip_bytes,count_bytes",
       "conv=sparse", "status=none")
    return f


def no_secrets():
    img = st["img"]
    root = extract(img, "HAVENROOTA")
    for path in ("/var/lib/haven/device.key", "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_rsa_key",
                 "/etc/ssh/ssh_host_ecdsa_key", "/usr/share/haven/boards/vm-gpio-sim.board"):
        out = subprocess.run(["debugfs", "-R", f"stat {path}", root], capture_output=True, text=True)
        assert "File not found" in out.stderr or "File not found" in out.stdout, f"{path} is in the image"
    mid = subprocess.run(["debugfs", "-R", "cat /etc/machine-id", root], capture_output=True, text=True).stdout
    assert mid.strip() == "", f"/etc/machine-id is initialized in the image: {mid!r}"
    shadow = subprocess.run(["debugfs", "-R", "cat /etc/shadow", root], capture_output=True, text=True).stdout
    rootpw = [l for l in shadow.splitlines() if l.startswith("root:")][0].split(":")[1]
    assert rootpw.startswith(("!", "*")), f"root has a password in the image: {rootpw[:3]}..."
    # nothing on the data partition but the two empty directories
    data = extract(img, "HAVENDATA")
    for d in ("/var-lib-haven", "/srv-haven"):
        ls = sh("debugfs", "-R", f"ls -p {d}", data)
        names = {line.split("/")[5] for line in ls.splitlines() if line.count("/") >= 6}
        assert names == {".", ".."}, f"{d} is not empty in the image: {names}"
    fstab = subprocess.run(["debugfs", "-R", "cat /etc/fstab", root], capture_output=True, text=True).stdout
    assert re.search(r"^LABEL=HAVENROOTA\s+/\s+ext4\s+ro", fstab, re.M), fstab


R.case("no secret in the image (no device key, no ssh host keys, machine-id empty, root locked)",
       lambda: timed("secret scan", no_secrets))


def flash():
    disk = os.path.join(work, "disk.raw")
    with open(disk, "wb") as f:
        f.truncate(DISK_SIZE)
    sh(HAVEN, "flash", st["img"], disk)
    # haven flash makes a file target exactly the image's size: the card is bigger
    assert os.path.getsize(disk) <= DISK_SIZE
    os.truncate(disk, DISK_SIZE)
    st["disk"] = disk


R.case("flash the image to a file-backed disk", lambda: timed("flash", flash))


def provision():
    disk = st["disk"]
    sh(HAVEN, "keygen", "--out", os.path.join(work, "test"))
    pubs = [os.path.join(work, "test.pub")]
    sh(HAVEN, "provision", disk, "--room", "Image test room", "--board", "sim", "--recipient", pubs[0],
       "--source", "test")


R.case("provision the flashed disk (room, sim board, test recipient, test sources)",
       lambda: timed("provision", provision))


def boot(phase, timeout=900):
    disk = st["disk"]
    boot_files = os.path.join(work, f"boot{phase}")
    os.makedirs(boot_files, exist_ok=True)
    off = parts(disk)["HAVENBOOT"][0]
    for f in ("vmlinuz", "initrd.img", "cmdline.txt"):
        sh("mcopy", "-n", "-i", f"{disk}@@{off}", f"::/{f}", os.path.join(boot_files, f))
    cmdline = open(os.path.join(boot_files, "cmdline.txt")).read().strip()
    assert "console=ttyAMA0" in cmdline and re.search(r"root=PARTUUID=[0-9a-f-]{36}", cmdline), cmdline
    guest = os.path.join(work, "guest.raw")
    with open(os.path.join(here, "guest-check.sh"), "rb") as src, open(guest, "wb") as dst:
        dst.write(src.read())
        dst.truncate(1 << 20)
    console = os.path.join(work, f"console{phase}.log")
    args = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-smp", "2", "-m", "1536",
            "-nographic", "-no-reboot", "-nic", "none",
            "-kernel", os.path.join(boot_files, "vmlinuz"), "-initrd", os.path.join(boot_files, "initrd.img"),
            "-append", cmdline + ' systemd.run="/bin/sh /dev/vdb" systemd.run_success_action=none'
                                 ' systemd.run_failure_action=poweroff',
            "-drive", f"file={disk},if=none,format=raw,id=disk,cache=unsafe", "-device", "virtio-blk-pci,drive=disk",
            "-drive", f"file={guest},if=none,format=raw,id=test,readonly=on", "-device", "virtio-blk-pci,drive=test",
            "-serial", f"file:{console}", "-monitor", "none"]
    t0 = time.monotonic()
    p = subprocess.run(["nice", "-n", "5"] + args, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - t0
    log = open(console, errors="replace").read()
    facts = {}
    for line in log.splitlines():
        m = re.search(r"HVTEST (\S+) ?(.*)$", line.strip())   # a getty prompt may precede it
        if m:
            facts[m.group(1)] = m.group(2).strip()
    assert "end" in facts, f"the guest did not finish (qemu exit {p.returncode}):\n{log[-6000:]}\n{p.stderr[-2000:]}"
    print(f"     boot {phase}: {took:.0f} s to power-off, IDLE {facts.get('idle-after', '?')} s after the kernel started")
    return facts, log


def check_common(facts, log):
    assert "idle-after" in facts, f"havend never reached IDLE: {facts}\n{log[-5000:]}"
    assert facts.get("havend-user") == "haven", facts
    sec = float(facts.get("security") or "99")
    assert sec <= 1.0, f"systemd-analyze security havend: {sec} > 1.0"
    assert facts.get("root-options", "").split(",")[0] == "ro", facts
    assert facts.get("root-writable") == "no", facts
    assert "sealed" in facts, f"no session sealed: {facts}\n{log[-4000:]}"


def read_cfg(name):
    disk = st["disk"]
    off = parts(disk)["HAVENCFG"][0]
    dst = os.path.join(work, name)
    if os.path.exists(dst):
        os.unlink(dst)
    p = subprocess.run(["mcopy", "-n", "-i", f"{disk}@@{off}", f"::/{name}", dst], capture_output=True, text=True)
    return open(dst).read() if p.returncode == 0 else None


def read_sessions(phase):
    data = extract(st["disk"], "HAVENDATA")
    out = os.path.join(work, f"data{phase}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    sh("debugfs", "-R", f"rdump /srv-haven /var-lib-haven {out}", data)
    os.unlink(data)
    return out


def first_boot():
    facts, log = boot(1)
    st["facts1"] = facts
    check_common(facts, log)
    assert facts["firstboot"].startswith("success"), facts
    size = int(facts.get("data-size-mib", "0"))
    assert size > 2048, f"the data partition was not grown to the disk: {size} MiB"
    enrollment = read_cfg("enrollment.conf")
    assert enrollment, "no enrollment.conf on the config partition after the first boot"
    kv = dict(re.findall(r"^([a-z-]+)=(.*)$", enrollment, re.M))
    for k in ("format", "device-id", "device-public-key", "room", "image-version", "haven-version", "created",
              "signature"):
        assert k in kv, f"enrollment.conf has no {k}:\n{enrollment}"
    assert kv["room"] == "Image test room" and re.fullmatch(r"[0-9a-f]{64}", kv["device-public-key"]), kv
    assert kv["device-id"] == facts["device"], (kv["device-id"], facts["device"])
    st["enrollment"] = kv
    st["enrollment_file"] = os.path.join(work, "enrollment.conf")
    out = read_sessions(1)
    # the secret key stays on the board's data partition, never on the config partition
    cfg_files = sh("mdir", "-/", "-b", "-i", f"{st['disk']}@@{parts(st['disk'])['HAVENCFG'][0]}", "::/")
    assert "key" not in cfg_files.replace("enrollment", "").replace(".pub", ""), cfg_files
    text = verify(out, kv)
    seqs = re.findall(r"device (\S+) sequence (\d+)", text)
    assert seqs == [(kv["device-id"], "1")], f"expected one session, sequence 1, of {kv['device-id']}:\n{text}"


def verify(out, kv):
    root = os.path.join(out, "srv-haven")
    env = dict(os.environ)
    env["HAVEN_TRUST_DIR"] = os.path.join(work, "trust")
    sh(HAVEN, "enroll", st["enrollment_file"], env=env)
    v = subprocess.run([HAVEN, "verify", root], capture_output=True, text=True, env=env)
    assert v.returncode == 0, f"haven verify failed:\n{v.stdout}\n{v.stderr}"
    text = v.stdout + v.stderr
    print("     " + "\n     ".join(text.strip().splitlines()[-4:]))
    j = subprocess.run([HAVEN, "verify", "--json", root], capture_output=True, text=True, env=env)
    doc = json.loads(j.stdout)
    assert j.returncode == 0 and doc["device_pinned"] and doc["pinned_by"] == "trust-list", \
        f"not pinned to the enrolled key: {j.stdout[:2000]}"
    return text


R.case("first boot: key made on the board, data grown, enrollment written, havend IDLE as haven, "
       "sandbox <= 1.0, root read-only, a test recording sealed and verified pinned to the enrolled key",
       lambda: timed("first boot + checks", first_boot))


def second_boot():
    assert "facts1" in st, "no first boot"
    facts, log = boot(2)
    check_common(facts, log)
    assert facts["device"] == st["facts1"]["device"], (facts["device"], st["facts1"]["device"])
    assert facts["firstboot"].split()[-1] == "no", f"the first-boot service ran again: {facts['firstboot']}"
    assert read_cfg("enrollment.conf").find(st["enrollment"]["signature"]) >= 0, "enrollment.conf changed"
    out = read_sessions(2)
    text = verify(out, st["enrollment"])
    seqs = sorted(re.findall(r"device (\S+) sequence (\d+)", text), key=lambda x: int(x[1]))
    dev = st["enrollment"]["device-id"]
    assert seqs == [(dev, "1"), (dev, "2")], f"expected sessions 1 and 2 of {dev}:\n{text}"


R.case("second boot: same device id, first boot not repeated, the ledger goes on (sequence 2), verified",
       lambda: timed("second boot + checks", second_boot))

def rpi4():
    out = os.path.join(work, "rpi4")
    sh("bash", os.path.join(repo, "board", "image", "build-image.sh"), "--variant", "rpi4",
       "--debs", st["debs"], "--out", out)
    img = glob.glob(os.path.join(out, "haven-rpi4-*.img"))[0]
    p = parts(img)
    off = p["HAVENBOOT"][0]
    names = sh("mdir", "-b", "-i", f"{img}@@{off}", "::/").split()
    for f in ("bcm2711-rpi-4-b.dtb", "config.txt", "cmdline.txt", "start4.elf", "fixup4.dat", "vmlinuz",
              "initrd.img"):
        assert f"::/{f}" in names, f"{f} not on the rpi4 boot partition: {names}"
    cmdline = sh("mtype", "-i", f"{img}@@{off}", "::/cmdline.txt")
    uuid = json.loads(sh("sfdisk", "--json", img))["partitiontable"]["partitions"][2]["uuid"].lower()
    assert f"root=PARTUUID={uuid} " in cmdline and " ro " in cmdline, (cmdline, uuid)
    config = sh("mtype", "-i", f"{img}@@{off}", "::/config.txt")
    assert re.search(r"^kernel=vmlinuz$", config, re.M) and re.search(r"^initramfs initrd.img", config, re.M), config
    assert re.search(r"^arm_64bit=1", config, re.M), config
    m = json.load(open(img + ".manifest.json"))
    assert m["variant"] == "rpi4", m
    root = extract(img, "HAVENROOTA")
    sim = subprocess.run(["debugfs", "-R", "stat /usr/share/haven/boards/sim.board", root], capture_output=True,
                         text=True)
    assert "File not found" in sim.stderr + sim.stdout, "the rpi4 image carries sim.board"
    os.unlink(root)


R.case("rpi4 variant: firmware, bcm2711-rpi-4-b.dtb, config.txt, cmdline.txt root=PARTUUID of slot A",
       lambda: timed("image build (rpi4)", rpi4))

print("timings:")
for label, secs in timings:
    print(f"  {label:<28} {secs:7.1f} s")
if os.environ.get("HAVEN_IMAGE_KEEP"):
    print(f"kept {work}")
else:
    shutil.rmtree(work, ignore_errors=True)
R.finish()
