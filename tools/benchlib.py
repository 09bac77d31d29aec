# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared by the benchmark scripts: paths and an optimised, unsanitised build."""
import os
import subprocess

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = os.environ.get("HAVEN_BUILD", os.path.join(top, "build"))
haven = os.path.join(build, "tools", "haven")


def build_release():
    subprocess.run(["cmake", "-S", top, "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                    "-DHAVEN_SANITIZE=OFF"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build, "-j2"], check=True, stdout=subprocess.DEVNULL)
