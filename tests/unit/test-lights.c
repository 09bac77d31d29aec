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

static gboolean
pattern_on(const HvLightPattern *p, guint t)
{
  switch (p->kind) {
  case HV_PATTERN_OFF:
    return FALSE;
  case HV_PATTERN_STEADY:
    return TRUE;
  case HV_PATTERN_BLINKING:
    return t % p->period_ms < p->period_ms / 2;
  case HV_PATTERN_PULSES: {
    guint c = t % p->period_ms;
    return c < p->pulses * 2 * p->pulse_ms && (c / p->pulse_ms) % 2 == 0;
  }
  }
  g_assert_not_reached();
}

/* What `haven status` says a light does is what the light does, at every
 * moment, in every state, fault and storage condition. */
static void
test_described_patterns_match_outputs(void)
{
  for (HvState st = HV_STATE_IDLE; st <= HV_STATE_FAULT; st++)
    for (HvFaultClass f = HV_FAULT_NONE; f <= HV_FAULT_KEYS; f++)
      for (int low = 0; low < 2; low++) {
        HvLightsInput in = { .state = st, .fault = f, .low_space = low };
        HvLightPattern p[HV_LIGHTS_COUNT];
        hv_lights_patterns(&in, p);
        for (guint t = 0; t < 4000; t += 25) {
          guint out = hv_lights_at(&in, t, NULL);
          for (guint i = 0; i < HV_LIGHTS_COUNT; i++)
            if (pattern_on(&p[i], t) != (((out >> i) & 1) != 0))
              g_error("state %s fault %d low %d light %u at %u ms: described %s, shows %s", hv_state_name(st), f,
                      low, i, t, hv_light_pattern_kind_name(p[i].kind), (out >> i) & 1 ? "on" : "off");
        }
      }
  HvLightsInput starting = { .state = HV_STATE_STARTING };
  HvLightPattern p[HV_LIGHTS_COUNT];
  hv_lights_patterns(&starting, p);
  g_autofree char *red = hv_light_pattern_describe(&p[1]);
  g_assert_cmpstr(red, ==, "blinking (2 Hz)");
  HvLightsInput fault = { .state = HV_STATE_FAULT, .fault = HV_FAULT_SOURCE };
  hv_lights_patterns(&fault, p);
  g_autofree char *amber = hv_light_pattern_describe(&p[2]);
  g_assert_cmpstr(amber, ==, "2 pulses every 2 s");
  g_assert_cmpint(p[0].kind, ==, HV_PATTERN_OFF);
}

/* Every press is acknowledged by a change the investigator can see, and the
 * three acknowledgements differ from each other. */
static void
test_feedback(void)
{
  static const struct { HvState state; HvFeedback fb; } used[] = {
    { HV_STATE_IDLE, HV_FEEDBACK_ARMED },       { HV_STATE_FAULT, HV_FEEDBACK_ARMED },
    { HV_STATE_IDLE, HV_FEEDBACK_NOTED },       { HV_STATE_FAULT, HV_FEEDBACK_NOTED },
    { HV_STATE_STARTING, HV_FEEDBACK_NOTED },   { HV_STATE_RECORDING, HV_FEEDBACK_NOTED },
    { HV_STATE_STOPPING, HV_FEEDBACK_NOTED },   { HV_STATE_STARTING, HV_FEEDBACK_MARKER },
    { HV_STATE_RECORDING, HV_FEEDBACK_MARKER },
  };
  for (guint i = 0; i < G_N_ELEMENTS(used); i++)
    for (int low = 0; low < 2; low++) {
      HvLightsInput in = { .state = used[i].state, .low_space = low,
                           .fault = used[i].state == HV_STATE_FAULT ? HV_FAULT_SOURCE : HV_FAULT_NONE };
      guint plain = hv_lights_at(&in, 0, NULL);
      in.feedback = used[i].fb;
      guint shown = hv_lights_at(&in, 0, NULL);
      g_assert_cmpuint(shown, !=, plain);
      /* the door sign outside never flickers with a press */
      g_assert_cmpuint(shown & HV_LIGHT_DOOR, ==, plain & HV_LIGHT_DOOR);
    }
  HvLightsInput rec = { .state = HV_STATE_RECORDING };
  rec.feedback = HV_FEEDBACK_MARKER;
  g_assert_cmpuint(hv_lights_at(&rec, 0, NULL), ==, HV_LIGHT_READY | HV_LIGHT_RECORDING | HV_LIGHT_DOOR);
  rec.feedback = HV_FEEDBACK_NOTED;
  g_assert_cmpuint(hv_lights_at(&rec, 0, NULL), ==, HV_LIGHT_DOOR);
  HvLightsInput idle = { .state = HV_STATE_IDLE, .feedback = HV_FEEDBACK_ARMED };
  g_assert_cmpuint(hv_lights_at(&idle, 0, NULL), ==, HV_LIGHT_RECORDING);
  /* timed acknowledgements are long enough to see, short enough not to be taken for a state */
  for (HvFeedback f = HV_FEEDBACK_NOTED; f <= HV_FEEDBACK_MARKER; f++) {
    g_assert_cmpuint(hv_feedback_duration_ms(f), >=, 250);
    g_assert_cmpuint(hv_feedback_duration_ms(f), <=, 500);
  }
  g_assert_cmpuint(hv_feedback_duration_ms(HV_FEEDBACK_ARMED), ==, 0);
  /* the described pattern is the state's, not the transient acknowledgement */
  HvLightPattern p[HV_LIGHTS_COUNT];
  hv_lights_patterns(&rec, p);
  g_assert_cmpint(p[1].kind, ==, HV_PATTERN_STEADY);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/lights/patterns", test_patterns);
  g_test_add_func("/lights/low-space", test_low_space);
  g_test_add_func("/lights/fault-codes", test_fault_codes);
  g_test_add_func("/lights/described-patterns-match-outputs", test_described_patterns_match_outputs);
  g_test_add_func("/lights/feedback", test_feedback);
  return g_test_run();
}
