// SPDX-License-Identifier: GPL-2.0-or-later
/* board: board files and hv_board_check (issue 9 item 4): a pin used twice,
 * a GPIO chip this machine does not have, the sim board needing none. */
#include "gpio.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char *dir;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp("haven-board-XXXXXX", NULL);
}

static void
teardown(Fixture *f, gconstpointer data)
{
  g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(f->dir, n, NULL);
    g_unlink(p);
  }
  g_rmdir(f->dir);
  g_free(f->dir);
}

static const char *const signals[] = { "record", "marker", "led-ready", "led-recording", "led-fault", "door-sign" };

/* A board file: backend, chip, and one line per signal (NULL: signal absent). */
static char *
write_board(Fixture *f, const char *backend, const char *chip, const char *const lines[6])
{
  g_autoptr(GString) s = g_string_new(NULL);
  g_string_append_printf(s, "[board]\nname=test\nbackend=%s\n", backend);
  for (guint i = 0; i < G_N_ELEMENTS(signals); i++)
    if (lines[i])
      g_string_append_printf(s, "[signal.%s]\nchip=%s\nline=%s\n", signals[i], chip, lines[i]);
  char *p = g_build_filename(f->dir, "test.board", NULL);
  g_assert_true(g_file_set_contents(p, s->str, -1, NULL));
  return p;
}

static GPtrArray *
check(const char *path)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(HvBoard) b = hv_board_load(path, &err);
  g_assert_no_error(err);
  GPtrArray *problems = g_ptr_array_new_with_free_func(g_free);
  hv_board_check(b, path, problems);
  return problems;
}

static void
test_sim_ok(Fixture *f, gconstpointer data)
{
  static const char *const lines[6] = { "0", "1", "2", "3", "4", "5" };
  g_autofree char *p = write_board(f, "sim", "sim", lines);
  g_autoptr(GPtrArray) problems = check(p);
  g_assert_cmpuint(problems->len, ==, 0);
}

static void
test_same_pin(Fixture *f, gconstpointer data)
{
  /* by offset, and by name */
  static const char *const by_offset[6] = { "0", "0", "2", "3", "4", "3" };
  g_autofree char *p = write_board(f, "sim", "sim", by_offset);
  g_autoptr(GPtrArray) problems = check(p);
  g_assert_cmpuint(problems->len, ==, 2);
  g_assert_nonnull(strstr(problems->pdata[0], "[signal.marker] line: 0 of chip 'sim' is already used by "
                                              "[signal.record]"));
  g_assert_nonnull(strstr(problems->pdata[1], "[signal.door-sign] line: 3 of chip 'sim' is already used by "
                                              "[signal.led-recording]"));
  g_assert_nonnull(strstr(problems->pdata[0], "test.board"));
  static const char *const by_name[6] = { "GPIO17", "GPIO27", "GPIO22", "GPIO17", "GPIO24", NULL };
  g_autofree char *q = write_board(f, "sim", "sim", by_name);
  g_autoptr(GPtrArray) again = check(q);
  g_assert_cmpuint(again->len, ==, 1);
  g_assert_nonnull(strstr(again->pdata[0], "[signal.led-recording] line: 'GPIO17'"));
}

/* rpi4.board on a machine without the SoC's GPIO controller: named in the
 * check, not only when havend starts. */
static void
test_chip_missing(Fixture *f, gconstpointer data)
{
  static const char *const lines[6] = { "GPIO17", "GPIO27", "GPIO22", "GPIO23", "GPIO24", "GPIO25" };
  g_autofree char *p = write_board(f, "libgpiod", "hv-test-no-such-chip", lines);
  g_autoptr(GPtrArray) problems = check(p);
  g_assert_cmpuint(problems->len, ==, 1); /* once per chip, not once per signal */
  g_assert_nonnull(strstr(problems->pdata[0], "[signal.record] chip: GPIO chip 'hv-test-no-such-chip' not found"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/board/sim-needs-no-chip", Fixture, NULL, setup, test_sim_ok, teardown);
  g_test_add("/board/same-pin", Fixture, NULL, setup, test_same_pin, teardown);
  g_test_add("/board/chip-missing", Fixture, NULL, setup, test_chip_missing, teardown);
  return g_test_run();
}
