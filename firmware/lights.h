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
 * Every press gets a brief acknowledgement layered on the state's pattern
 * (HvFeedback), shown at once and restored afterwards:
 *   armed   red on, green off  record pressed while idle: release to start
 *                              (lasts until the release or the hold)
 *   noted   every light off    a press that changes nothing (a short press
 *           for 300 ms         while recording: hold to stop; a hold while
 *                              idle; a marker press while not recording)
 *   marker  green on 400 ms    a marker was added to the recording
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
#define HV_LIGHTS_COUNT 4   /* HV_LIGHT_* bits, in order */

typedef enum {
  HV_FEEDBACK_NONE,
  HV_FEEDBACK_ARMED,
  HV_FEEDBACK_NOTED,
  HV_FEEDBACK_MARKER,
} HvFeedback;

typedef struct {
  HvState      state;
  HvFaultClass fault;       /* active fault, HV_FAULT_NONE if none */
  gboolean     low_space;
  HvFeedback   feedback;    /* a press acknowledgement being shown */
} HvLightsInput;

/* Outputs at phase_ms into the pattern; *ret_blinking says whether they change over time. */
guint hv_lights_at(const HvLightsInput *in, guint phase_ms, gboolean *ret_blinking);

/* What one light does under the state's pattern (feedback aside). */
typedef enum {
  HV_PATTERN_OFF,
  HV_PATTERN_STEADY,
  HV_PATTERN_BLINKING,  /* on half of period_ms, off the other half */
  HV_PATTERN_PULSES,    /* pulses flashes of pulse_ms at the start of every period_ms */
} HvPatternKind;

typedef struct {
  HvPatternKind kind;
  guint         period_ms;
  guint         pulses;
  guint         pulse_ms;
} HvLightPattern;

/* The pattern of each light (indexed as the HV_LIGHT_* bits) for in, ignoring in->feedback. */
void hv_lights_patterns(const HvLightsInput *in, HvLightPattern ret_patterns[HV_LIGHTS_COUNT]);
/* "steady", "blinking", "2 pulses every 2 s"...: newly allocated. */
char *hv_light_pattern_describe(const HvLightPattern *p);
const char *hv_light_pattern_kind_name(HvPatternKind kind);

/* How long a feedback shows (ms); 0: until the daemon ends it (armed). */
guint hv_feedback_duration_ms(HvFeedback f);
const char *hv_feedback_name(HvFeedback f);

G_END_DECLS
