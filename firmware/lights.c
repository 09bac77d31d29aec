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
  if (ret_blinking)
    *ret_blinking = blink;
  return out;
}
