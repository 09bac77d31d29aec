// SPDX-License-Identifier: GPL-2.0-or-later
/* Button timing with a controllable clock: no sleeps. */
#include "button.h"

#define MS 1000

static void
test_press_is_immediate(void)
{
  HvButton b;
  hv_button_init(&b, 30, 2000);
  g_assert_cmpint(hv_button_feed(&b, TRUE, 1000 * MS), ==, HV_BUTTON_DOWN);
  g_assert_cmpint(hv_button_feed(&b, FALSE, 1100 * MS), ==, HV_BUTTON_TAP);
}

static void
test_bounce_is_filtered(void)
{
  HvButton b;
  hv_button_init(&b, 30, 2000);
  gint64 t = 1000 * MS;
  g_assert_cmpint(hv_button_feed(&b, TRUE, t), ==, HV_BUTTON_DOWN);
  /* contact bounce for 10 ms: ignored */
  for (int i = 1; i <= 10; i++)
    g_assert_cmpint(hv_button_feed(&b, i % 2 == 0, t + i * MS), ==, HV_BUTTON_NONE);
  /* settled pressed (last fed level TRUE): nothing more to report at lockout end */
  g_assert_cmpint(hv_button_tick(&b, t + 30 * MS), ==, HV_BUTTON_NONE);
  g_assert_cmpuint(b.edges, ==, 11);
}

static void
test_settled_release_after_lockout(void)
{
  HvButton b;
  hv_button_init(&b, 30, 2000);
  gint64 t = 0;
  hv_button_feed(&b, TRUE, t);
  g_assert_cmpint(hv_button_feed(&b, FALSE, t + 5 * MS), ==, HV_BUTTON_NONE); /* in lockout */
  g_assert_cmpint(hv_button_next_deadline(&b), ==, t + 30 * MS);
  g_assert_cmpint(hv_button_tick(&b, t + 29 * MS), ==, HV_BUTTON_NONE);
  g_assert_cmpint(hv_button_tick(&b, t + 30 * MS), ==, HV_BUTTON_TAP);
}

static void
test_hold(void)
{
  HvButton b;
  hv_button_init(&b, 30, 2000);
  hv_button_feed(&b, TRUE, 0);
  g_assert_cmpint(hv_button_next_deadline(&b), ==, 2000 * MS);
  g_assert_cmpint(hv_button_tick(&b, 1999 * MS), ==, HV_BUTTON_NONE);
  g_assert_cmpint(hv_button_tick(&b, 2000 * MS), ==, HV_BUTTON_HOLD);
  g_assert_cmpint(hv_button_tick(&b, 5000 * MS), ==, HV_BUTTON_NONE); /* once per press */
  g_assert_cmpint(hv_button_next_deadline(&b), ==, -1);
}

static void
test_short_press_no_hold(void)
{
  HvButton b;
  hv_button_init(&b, 30, 2000);
  hv_button_feed(&b, TRUE, 0);
  g_assert_cmpint(hv_button_feed(&b, FALSE, 1900 * MS), ==, HV_BUTTON_TAP);
  g_assert_cmpint(hv_button_tick(&b, 2500 * MS), ==, HV_BUTTON_NONE);
}

/* A press ends as a tap or, once it was a hold, as a plain UP: a hold from
 * IDLE must never also count as the short press that starts a recording. */
static void
test_hold_is_not_a_tap(void)
{
  HvButton b;
  hv_button_init(&b, 30, 2000);
  g_assert_cmpint(hv_button_feed(&b, TRUE, 0), ==, HV_BUTTON_DOWN);
  g_assert_cmpint(hv_button_tick(&b, 2000 * MS), ==, HV_BUTTON_HOLD);
  g_assert_cmpint(hv_button_feed(&b, FALSE, 2500 * MS), ==, HV_BUTTON_UP);
  /* the next press is judged on its own */
  g_assert_cmpint(hv_button_feed(&b, TRUE, 3000 * MS), ==, HV_BUTTON_DOWN);
  g_assert_cmpint(hv_button_feed(&b, FALSE, 3200 * MS), ==, HV_BUTTON_TAP);
  /* a release read late but stamped before the hold deadline is still a tap */
  g_assert_cmpint(hv_button_feed(&b, TRUE, 4000 * MS), ==, HV_BUTTON_DOWN);
  g_assert_cmpint(hv_button_feed(&b, FALSE, 5999 * MS), ==, HV_BUTTON_TAP);
}

static void
test_storm(void)
{
  HvButton b;
  hv_button_init(&b, 20, 2000);
  guint downs = 0;
  gint64 t = 0;
  for (int i = 0; i < 1000; i++, t += MS) { /* 1000 edges at 1 kHz */
    if (hv_button_feed(&b, i % 2 == 0, t) == HV_BUTTON_DOWN)
      downs++;
    if (hv_button_tick(&b, t) == HV_BUTTON_DOWN)
      downs++;
  }
  /* at most one accepted edge per 20 ms lockout, so at most one press per 40 ms */
  g_assert_cmpuint(downs, <=, 1000 / 40 + 1);
  g_assert_cmpuint(downs, >=, 1);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/button/press-is-immediate", test_press_is_immediate);
  g_test_add_func("/button/bounce-is-filtered", test_bounce_is_filtered);
  g_test_add_func("/button/settled-release", test_settled_release_after_lockout);
  g_test_add_func("/button/hold", test_hold);
  g_test_add_func("/button/short-press-no-hold", test_short_press_no_hold);
  g_test_add_func("/button/hold-is-not-a-tap", test_hold_is_not_a_tap);
  g_test_add_func("/button/storm", test_storm);
  return g_test_run();
}
