/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lights: what the lights and the door sign show, as a pure function of the
 * appliance state and a time phase; the daemon drives a blink timer only
 * while a pattern actually blinks (no wake-ups when steady).
 *   green steady            idle and healthy
 *   red blinking            starting or stopping
 *   red steady + door sign  recording (and healthy)
 *   amber blinking          fault: 1 pulse storage, 2 source, 3 clock, 4 keys (per 2 s)
 *   amber slow blink        storage running low: fewer than [storage] warn-minutes
 *                           left (1 s on, 1 s off; with any light above)
 */
#pragma once

#include "machine.h"
#include "recorder.h"

G_BEGIN_DECLS

enum {
  HV_LIGHT_READY     = 1 << 0,
  HV_LIGHT_RECORDING = 1 << 1,
  HV_LIGHT_FAULT     = 1 << 2,
  HV_LIGHT_DOOR      = 1 << 3,
};

#define HV_LIGHTS_TICK_MS 125

typedef struct {
  HvState      state;
  HvFaultClass fault;       /* active fault, HV_FAULT_NONE if none */
  gboolean     low_space;
} HvLightsInput;

/* Outputs at phase_ms into the pattern; *ret_blinking says whether they change over time. */
guint hv_lights_at(const HvLightsInput *in, guint phase_ms, gboolean *ret_blinking);

G_END_DECLS
