// SPDX-License-Identifier: GPL-2.0-or-later
#include "lights.h"

static void
test_patterns(void)
{
  gboolean blink;
  HvLightsInput in = { .state = HV_STATE_IDLE };
  g_assert_cmpuint(hv_lights_at(&in, 0, &blink), ==, HV_LIGHT_READY);
  g_assert_false(blink);
  in.state = HV_STATE_RECORDING;
  g_assert_cmpuint(hv_lights_at(&in, 0, &blink), ==, HV_LIGHT_RECORDING | HV_LIGHT_DOOR);
  g_assert_false(blink);
  in.state = HV_STATE_STARTING;
  g_assert_cmpuint(hv_lights_at(&in, 0, &blink), ==, HV_LIGHT_RECORDING | HV_LIGHT_DOOR);
  g_assert_true(blink);
  g_assert_cmpuint(hv_lights_at(&in, 300, NULL), ==, HV_LIGHT_DOOR);
  in = (HvLightsInput) { .state = HV_STATE_IDLE, .low_space = TRUE };
  g_assert_cmpuint(hv_lights_at(&in, 0, &blink), ==, HV_LIGHT_READY | HV_LIGHT_FAULT);
  g_assert_true(blink);
  g_assert_cmpuint(hv_lights_at(&in, 1200, NULL), ==, HV_LIGHT_READY);
}

/* Low space blinks amber slowly (1 s on, 1 s off), unlike any fault code
 * (250 ms pulses), in IDLE and while recording. */
static void
test_low_space(void)
{
  HvState states[] = { HV_STATE_IDLE, HV_STATE_RECORDING };
  for (guint s = 0; s < G_N_ELEMENTS(states); s++) {
    HvLightsInput in = { .state = states[s], .low_space = TRUE };
    guint on_ms = 0, edges = 0;
    gboolean prev = FALSE;
    for (guint t = 0; t < 2000; t += 25) {
      gboolean on = (hv_lights_at(&in, t, NULL) & HV_LIGHT_FAULT) != 0;
      on_ms += on ? 25 : 0;
      edges += on && !prev;
      prev = on;
    }
    g_assert_cmpuint(on_ms, ==, 1000);
    g_assert_cmpuint(edges, ==, 1);
    if (states[s] == HV_STATE_RECORDING)
      g_assert_true(hv_lights_at(&in, 1500, NULL) & HV_LIGHT_RECORDING);
  }
}

/* Each fault class blinks amber its own number of times per cycle. */
static void
test_fault_codes(void)
{
  for (HvFaultClass c = HV_FAULT_STORAGE; c <= HV_FAULT_KEYS; c++) {
    HvLightsInput in = { .state = HV_STATE_FAULT, .fault = c };
    guint pulses = 0;
    gboolean prev = FALSE;
    for (guint t = 0; t < 2000; t += 25) {
      gboolean on = (hv_lights_at(&in, t, NULL) & HV_LIGHT_FAULT) != 0;
      pulses += on && !prev;
      prev = on;
      g_assert_false(hv_lights_at(&in, t, NULL) & HV_LIGHT_READY);
    }
    g_assert_cmpuint(pulses, ==, (guint) c);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/lights/patterns", test_patterns);
  g_test_add_func("/lights/low-space", test_low_space);
  g_test_add_func("/lights/fault-codes", test_fault_codes);
  return g_test_run();
}
