/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * readiness: would a press now record? A cheap probe of everything a session
 * needs, run by the daemon every few seconds while idle and before a start:
 * the clock set, a custodian recipient loaded, every storage root a writable
 * directory with room for the pre-flight minimum, every configured camera
 * (V4L2: a video capture device that opens) and microphone (ALSA: its card
 * and capture node present and openable) there. No pipeline, no GStreamer:
 * a few syscalls per device, and nothing is held open afterwards. A device
 * that is busy (opened by a session) counts as present.
 *
 * Devices are found through /dev and /sys (not /proc, which the service's
 * ProcSubset=pid hides); tests point sysroot at a fake tree.
 */
#pragma once

#include "recorder-config.h"

G_BEGIN_DECLS

typedef enum {
  HV_READINESS_CLOCK,
  HV_READINESS_KEYS,
  HV_READINESS_STORAGE,
  HV_READINESS_CAMERA,
  HV_READINESS_MICROPHONE,
  HV_READINESS_CAPTURE,     /* the capture program itself (havend: capture-supervisor.h) */
} HvReadinessKind;

typedef struct {
  HvReadinessKind kind;
  char           *text;   /* one line naming the device or path and what is wrong */
} HvReadinessProblem;

void hv_readiness_problem_free(HvReadinessProblem *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvReadinessProblem, hv_readiness_problem_free)

/* Probe cfg's devices under sysroot (NULL: "/"; storage roots are taken as
 * they are) and judge the clock at now_us (wall clock, microseconds; 0: now).
 * Returns a new array of HvReadinessProblem (caller owns; empty when ready),
 * in order: clock, keys, storage roots, cameras, microphone. Sources that
 * cannot be probed without their framework (libcamera, PulseAudio, an ALSA
 * name that is not hw:/plughw: of a card) are not judged here. */
GPtrArray *hv_readiness_check(const HvRecorderConfig *cfg, const char *sysroot, gint64 now_us);

/* The problems as one line, "; "-separated (caller frees); NULL when empty. */
char *hv_readiness_join(const GPtrArray *problems);

G_END_DECLS
