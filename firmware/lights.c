// SPDX-License-Identifier: GPL-2.0-or-later
#include "lights.h"

#define BLINK_MS   250   /* red: 2 Hz */
#define PULSE_MS   250   /* amber pulse on, then off */
#define CYCLE_MS   2000  /* amber code repeats */
#define LOW_ON_MS  1000  /* low space: amber 1 s on, 1 s off (a fault pulses 250 ms) */

static gboolean
amber_pulse(HvFaultClass cls, guint phase_ms)
{
  guint pulses = (guint) cls;   /* storage 1, source 2, clock 3, keys 4 */
  guint t = phase_ms % CYCLE_MS;
  return t < pulses * 2 * PULSE_MS && (t / PULSE_MS) % 2 == 0;
}

guint
hv_lights_at(const HvLightsInput *in, guint phase_ms, gboolean *ret_blinking)
{
  guint out = 0;
  gboolean blink = FALSE;
  gboolean red_blink_on = (phase_ms / BLINK_MS) % 2 == 0;
  switch (in->state) {
  case HV_STATE_IDLE:
    if (in->fault == HV_FAULT_NONE)
      out |= HV_LIGHT_READY;
    break;
  case HV_STATE_STARTING:
  case HV_STATE_STOPPING:
    out |= red_blink_on ? HV_LIGHT_RECORDING : 0;
    out |= HV_LIGHT_DOOR;
    blink = TRUE;
    break;
  case HV_STATE_RECORDING:
    out |= HV_LIGHT_RECORDING | HV_LIGHT_DOOR;
    break;
  case HV_STATE_FAULT:
    break;
  }
  if (in->fault != HV_FAULT_NONE) {
    out |= amber_pulse(in->fault, phase_ms) ? HV_LIGHT_FAULT : 0;
    blink = TRUE;
  } else if (in->low_space) {
    out |= phase_ms % CYCLE_MS < LOW_ON_MS ? HV_LIGHT_FAULT : 0;
    blink = TRUE;
  }
  switch (in->feedback) {
  case HV_FEEDBACK_NONE:
    break;
  case HV_FEEDBACK_ARMED:
    out = (out & ~(guint) HV_LIGHT_READY) | HV_LIGHT_RECORDING;
    break;
  case HV_FEEDBACK_NOTED:
    out &= HV_LIGHT_DOOR; /* the door sign is for the corridor: it never winks */
    break;
  case HV_FEEDBACK_MARKER:
    out |= HV_LIGHT_READY;
    break;
  }
  if (ret_blinking)
    *ret_blinking = blink;
  return out;
}

void
hv_lights_patterns(const HvLightsInput *in, HvLightPattern ret_patterns[HV_LIGHTS_COUNT])
{
  HvLightsInput plain = *in;
  plain.feedback = HV_FEEDBACK_NONE;
  guint steady = hv_lights_at(&plain, 0, NULL);
  for (guint i = 0; i < HV_LIGHTS_COUNT; i++)
    ret_patterns[i] = (HvLightPattern) { .kind = (steady & (1u << i)) ? HV_PATTERN_STEADY : HV_PATTERN_OFF };
  if (in->state == HV_STATE_STARTING || in->state == HV_STATE_STOPPING)
    ret_patterns[1] = (HvLightPattern) { .kind = HV_PATTERN_BLINKING, .period_ms = 2 * BLINK_MS };
  if (in->fault != HV_FAULT_NONE)
    ret_patterns[2] = (HvLightPattern) { .kind = HV_PATTERN_PULSES, .period_ms = CYCLE_MS, .pulses = (guint) in->fault,
                                         .pulse_ms = PULSE_MS };
  else if (in->low_space) /* LOW_ON_MS on, the rest of CYCLE_MS off */
    ret_patterns[2] = (HvLightPattern) { .kind = HV_PATTERN_BLINKING, .period_ms = 2 * LOW_ON_MS };
}

const char *
hv_light_pattern_kind_name(HvPatternKind kind)
{
  static const char *n[] = { "off", "steady", "blinking", "pulses" };
  return kind < G_N_ELEMENTS(n) ? n[kind] : "?";
}

char *
hv_light_pattern_describe(const HvLightPattern *p)
{
  switch (p->kind) {
  case HV_PATTERN_BLINKING:
    return g_strdup_printf("blinking (%g Hz)", 1000.0 / p->period_ms);
  case HV_PATTERN_PULSES:
    return g_strdup_printf("%u pulse%s every %g s", p->pulses, p->pulses == 1 ? "" : "s", p->period_ms / 1000.0);
  default:
    return g_strdup(hv_light_pattern_kind_name(p->kind));
  }
}

guint
hv_feedback_duration_ms(HvFeedback f)
{
  static const guint ms[] = { 0, 0, 300, 400 };
  return f < G_N_ELEMENTS(ms) ? ms[f] : 0;
}

const char *
hv_feedback_name(HvFeedback f)
{
  static const char *n[] = { "none", "armed", "noted", "marker" };
  return f < G_N_ELEMENTS(n) ? n[f] : "?";
}
