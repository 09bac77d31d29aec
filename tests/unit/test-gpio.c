// SPDX-License-Identifier: GPL-2.0-or-later
/* The GPIO interface on the sim backend: HvGpio is opaque, read through its
 * accessors; inputs reach the callback with the time given; outputs are
 * remembered for the status. */
#include "gpio.h"

#include <glib/gstdio.h>

/* Record and the three lights; no marker, no door sign. */
static const char board_text[] =
  "[board]\nname=test-sim\nbackend=sim\n"
  "[signal.record]\nchip=sim\nline=0\ndebounce-ms=35\n"
  "[signal.led-ready]\nchip=sim\nline=2\n"
  "[signal.led-recording]\nchip=sim\nline=3\n"
  "[signal.led-fault]\nchip=sim\nline=4\n";

typedef struct {
  guint    calls;
  HvSignal signal[8];
  gboolean active[8];
  gint64   time_us[8];
} Inputs;

static void
on_input(HvSignal signal, gboolean active, gint64 time_us, gpointer user_data)
{
  Inputs *in = user_data;
  g_assert_cmpuint(in->calls, <, G_N_ELEMENTS(in->signal));
  in->signal[in->calls] = signal;
  in->active[in->calls] = active;
  in->time_us[in->calls] = time_us;
  in->calls++;
}

static HvGpio *
open_board(Inputs *in)
{
  g_autoptr(GError) err = NULL;
  g_autofree char *dir = g_dir_make_tmp("haven-gpio-XXXXXX", &err);
  g_assert_no_error(err);
  g_autofree char *path = g_build_filename(dir, "test.board", NULL);
  g_assert_true(g_file_set_contents(path, board_text, -1, &err));
  g_autoptr(HvBoard) board = hv_board_load(path, &err);
  g_assert_no_error(err);
  (void) g_unlink(path);
  (void) g_rmdir(dir);
  HvGpio *g = hv_gpio_new(g_steal_pointer(&board), on_input, in, &err);
  g_assert_no_error(err);
  g_assert_nonnull(g);
  return g;
}

static void
test_board(void)
{
  Inputs in = { 0 };
  g_autoptr(HvGpio) g = open_board(&in);
  const HvBoard *b = hv_gpio_get_board(g);
  g_assert_cmpstr(b->name, ==, "test-sim");
  g_assert_cmpstr(b->backend, ==, "sim");
  g_assert_true(b->lines[HV_SIGNAL_RECORD].present);
  g_assert_cmpuint(b->lines[HV_SIGNAL_RECORD].debounce_ms, ==, 35);
  g_assert_false(b->lines[HV_SIGNAL_MARKER].present);
  g_assert_false(b->lines[HV_SIGNAL_DOOR_SIGN].present);
}

static void
test_outputs(void)
{
  Inputs in = { 0 };
  g_autoptr(HvGpio) g = open_board(&in);
  g_autoptr(GError) err = NULL;
  for (guint s = 0; s < HV_SIGNAL_COUNT; s++)
    g_assert_false(hv_gpio_get_output(g, (HvSignal) s));
  g_assert_true(hv_gpio_set(g, HV_SIGNAL_LED_READY, TRUE, &err));
  g_assert_true(hv_gpio_set(g, HV_SIGNAL_LED_FAULT, TRUE, &err));
  g_assert_true(hv_gpio_set(g, HV_SIGNAL_LED_FAULT, FALSE, &err));
  g_assert_no_error(err);
  g_assert_true(hv_gpio_get_output(g, HV_SIGNAL_LED_READY));
  g_assert_false(hv_gpio_get_output(g, HV_SIGNAL_LED_RECORDING));
  g_assert_false(hv_gpio_get_output(g, HV_SIGNAL_LED_FAULT));
  /* an input, or a signal the board does not have, is never driven */
  g_assert_true(hv_gpio_set(g, HV_SIGNAL_RECORD, TRUE, &err));
  g_assert_true(hv_gpio_set(g, HV_SIGNAL_DOOR_SIGN, TRUE, &err));
  g_assert_no_error(err);
  g_assert_false(hv_gpio_get_output(g, HV_SIGNAL_RECORD));
  g_assert_false(hv_gpio_get_output(g, HV_SIGNAL_DOOR_SIGN));
  g_assert_false(hv_gpio_get_output(g, HV_SIGNAL_COUNT));
  g_assert_cmpuint(in.calls, ==, 0);
}

static void
test_sim_input(void)
{
  Inputs in = { 0 };
  g_autoptr(HvGpio) g = open_board(&in);
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_gpio_sim_set_input(g, HV_SIGNAL_RECORD, TRUE, 1234567, &err));
  g_assert_true(hv_gpio_sim_set_input(g, HV_SIGNAL_RECORD, FALSE, -1, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(in.calls, ==, 2);
  g_assert_cmpint(in.signal[0], ==, HV_SIGNAL_RECORD);
  g_assert_true(in.active[0]);
  g_assert_cmpint(in.time_us[0], ==, 1234567);
  g_assert_false(in.active[1]);
  g_assert_cmpint(in.time_us[1], ==, -1);

  g_assert_false(hv_gpio_sim_set_input(g, HV_SIGNAL_LED_READY, TRUE, -1, &err));
  g_assert_error(err, HV_GPIO_ERROR, HV_GPIO_ERROR_LINE);
  g_clear_error(&err);
  g_assert_false(hv_gpio_sim_set_input(g, HV_SIGNAL_MARKER, TRUE, -1, &err));
  g_assert_error(err, HV_GPIO_ERROR, HV_GPIO_ERROR_LINE);
  g_assert_cmpuint(in.calls, ==, 2);
}

/* A storm of 3 edges: press, release, press, then the release that always
 * ends it, one interval apart on the monotonic clock. */
static void
test_sim_storm(void)
{
  Inputs in = { 0 };
  g_autoptr(HvGpio) g = open_board(&in);
  g_autoptr(GError) err = NULL;
  gint64 before = g_get_monotonic_time();
  g_assert_true(hv_gpio_sim_storm(g, HV_SIGNAL_RECORD, 3, 1, &err));
  g_assert_no_error(err);
  while (in.calls < 4)
    g_main_context_iteration(NULL, TRUE);
  const gboolean levels[] = { TRUE, FALSE, TRUE, FALSE };
  for (guint i = 0; i < 4; i++) {
    g_assert_cmpint(in.signal[i], ==, HV_SIGNAL_RECORD);
    g_assert_cmpint(in.active[i], ==, levels[i]);
    g_assert_cmpint(in.time_us[i], ==, in.time_us[0] + (gint64) i * 1000);
  }
  g_assert_cmpint(in.time_us[0], >=, before + 1000);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
  g_test_add_func("/gpio/board", test_board);
  g_test_add_func("/gpio/outputs", test_outputs);
  g_test_add_func("/gpio/sim-input", test_sim_input);
  g_test_add_func("/gpio/sim-storm", test_sim_storm);
  return g_test_run();
}
