// SPDX-License-Identifier: GPL-2.0-or-later
#include "space.h"

#include <string.h>

/* The configured estimate until enough was measured; then what was sealed
 * per second, never below the estimate when planning the reserve. */
static void
test_rate(void)
{
  g_assert_cmpuint(hv_space_rate(1000, 50000, G_USEC_PER_SEC, FALSE), ==, 1000);
  g_assert_cmpuint(hv_space_rate(1000, 0, 10 * G_USEC_PER_SEC, FALSE), ==, 1000);
  g_assert_cmpuint(hv_space_rate(1000, 50000, 10 * G_USEC_PER_SEC, FALSE), ==, 5000);
  g_assert_cmpuint(hv_space_rate(1000, 5000, 10 * G_USEC_PER_SEC, FALSE), ==, 500);
  g_assert_cmpuint(hv_space_rate(1000, 5000, 10 * G_USEC_PER_SEC, TRUE), ==, 1000);
  g_assert_cmpuint(hv_space_rate(1000, 50000, 10 * G_USEC_PER_SEC, TRUE), ==, 5000);
}

static void
test_reserve_and_time(void)
{
  g_assert_cmpuint(hv_space_reserve(1000, 30), ==, HV_SPACE_RESERVE_MIN);
  g_assert_cmpuint(hv_space_reserve(1u << 20, 30), ==, 30u << 20);
  /* 400 KB/s, 100 MB free, 12 MB reserve: (100 - 12) MB / 400 KB/s */
  g_assert_cmpint(hv_space_seconds_left(100000000, 12000000, 400000), ==, 220);
  g_assert_cmpint(hv_space_seconds_left(12000000, 12000000, 400000), ==, 0);
  g_assert_cmpint(hv_space_seconds_left(1000, 12000000, 400000), ==, 0);
  g_assert_cmpint(hv_space_seconds_left(1000, 10, 0), ==, G_MAXINT64);
}

static void
test_decide(void)
{
  guint64 freeb[2] = { 100, 50 };
  gboolean use[2] = { TRUE, TRUE }, full[2];
  g_assert_cmpint(hv_space_decide(freeb, use, 2, 40, full), ==, HV_SPACE_OK);
  g_assert_false(full[0] || full[1]);
  /* the small root reaches the reserve: retire it, go on with the other */
  g_assert_cmpint(hv_space_decide(freeb, use, 2, 60, full), ==, HV_SPACE_RETIRE);
  g_assert_false(full[0]);
  g_assert_true(full[1]);
  /* once retired it no longer counts; the last one reaching it stops the session */
  use[1] = FALSE;
  g_assert_cmpint(hv_space_decide(freeb, use, 2, 60, full), ==, HV_SPACE_OK);
  g_assert_false(full[1]);
  g_assert_cmpint(hv_space_decide(freeb, use, 2, 101, full), ==, HV_SPACE_FULL);
  g_assert_true(full[0]);
  /* one root */
  g_assert_cmpint(hv_space_decide(freeb, use, 1, 100, full), ==, HV_SPACE_OK);
  g_assert_cmpint(hv_space_decide(freeb, use, 1, 101, full), ==, HV_SPACE_FULL);
}

/* A start needs min-free-minutes of media plus the reserve; the shortage names the root. */
static void
test_start_need(void)
{
  /* 400 kB/s: 3 minutes = 72 MB, the reserve of 30 s = 12 MB (above the 4 MiB floor) */
  guint64 need = hv_space_start_need(400000, 3, 30);
  g_assert_cmpuint(need, ==, 72000000 + 12000000);
  /* a tiny rate: the reserve floor still counts */
  g_assert_cmpuint(hv_space_start_need(1000, 0, 30), ==, HV_SPACE_RESERVE_MIN);
  g_assert_null(hv_space_shortage("/srv/haven", need, need, 3));
  g_autofree char *m = hv_space_shortage("/srv/haven", need - 1, need, 3);
  g_assert_nonnull(m);
  g_assert_nonnull(strstr(m, "storage: /srv/haven has "));
  g_assert_nonnull(strstr(m, "3 minutes"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/space/rate", test_rate);
  g_test_add_func("/space/start-need", test_start_need);
  g_test_add_func("/space/reserve-and-time", test_reserve_and_time);
  g_test_add_func("/space/decide", test_decide);
  return g_test_run();
}
