// SPDX-License-Identifier: GPL-2.0-or-later
/* room (issue 10 §4): the room havend last started in, and its changes. */
#include "room.h"
#include "test-helpers.h"

#include <string.h>

static void
test_changes(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) err = NULL;
  char *prev = NULL;
  gboolean first = FALSE;
  g_assert_true(hv_room_record(f->dir, "Room 1", &prev, &first, &err));
  g_assert_no_error(err);
  g_assert_null(prev);
  g_assert_true(first);
  g_assert_true(hv_room_record(f->dir, "Room 1", &prev, &first, &err));
  g_assert_null(prev);
  g_assert_false(first);
  g_assert_true(hv_room_record(f->dir, "Room 2\nwith a line break", &prev, &first, &err));
  g_assert_cmpstr(prev, ==, "Room 1");
  g_assert_false(first);
  g_clear_pointer(&prev, g_free);
  g_assert_true(hv_room_record(f->dir, "Room 2\nwith a line break", &prev, &first, &err));
  g_assert_null(prev);
  g_assert_true(hv_room_record(f->dir, "", &prev, &first, &err));
  g_assert_cmpstr(prev, ==, "Room 2\nwith a line break");
  g_clear_pointer(&prev, g_free);
  /* what the file says, made valid UTF-8, is the previous room */
  g_autofree char *path = g_build_filename(f->dir, HV_ROOM_FILE, NULL);
  g_assert_true(g_file_set_contents(path, "Ro\xffom\n", -1, NULL));
  g_assert_true(hv_room_record(f->dir, "Room 3", &prev, &first, &err));
  g_assert_nonnull(prev);
  g_assert_true(g_utf8_validate(prev, -1, NULL));
  g_assert_true(g_str_has_prefix(prev, "Ro"));
  g_clear_pointer(&prev, g_free);
}

static void
test_unwritable(Fixture *f, gconstpointer data)
{
  g_autofree char *missing = g_build_filename(f->dir, "no", "such", "dir", NULL);
  g_autoptr(GError) err = NULL;
  char *prev = NULL;
  gboolean first = FALSE;
  g_assert_false(hv_room_record(missing, "Room 1", &prev, &first, &err));
  g_assert_error(err, HV_ROOM_ERROR, HV_ROOM_ERROR_IO);
  g_assert_null(prev);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/room/changes", Fixture, NULL, fixture_setup, test_changes, fixture_teardown);
  g_test_add("/room/unwritable", Fixture, NULL, fixture_setup, test_unwritable, fixture_teardown);
  return g_test_run();
}
