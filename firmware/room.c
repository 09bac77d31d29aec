// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "room.h"
#include "vault/vault.h"

#include <string.h>

G_DEFINE_QUARK(hv-room-error-quark, hv_room_error)

#define ROOM_FILE_MAX 4096

gboolean
hv_room_record(const char *state_dir, const char *room, char **ret_previous, gboolean *ret_first, GError **error)
{
  *ret_previous = NULL;
  *ret_first = FALSE;
  g_autofree char *path = g_build_filename(state_dir, HV_ROOM_FILE, NULL);
  g_autoptr(GError) local = NULL;
  g_autofree char *previous = NULL;
  if (g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_autoptr(GBytes) bytes = hv_file_read_bounded(path, ROOM_FILE_MAX, &local);
    if (!bytes) {
      g_set_error(error, HV_ROOM_ERROR, HV_ROOM_ERROR_IO, "the room last recorded cannot be read: %s",
                  local->message);
      return FALSE;
    }
    gsize n;
    const char *data = g_bytes_get_data(bytes, &n);
    /* one line; a damaged file counts as a change from what it says */
    previous = g_utf8_make_valid(data, n && data[n - 1] == '\n' ? (gssize) n - 1 : (gssize) n);
  } else {
    *ret_first = TRUE;
  }
  if (previous && g_str_equal(previous, room))
    return TRUE;
  g_autofree char *text = g_strconcat(room, "\n", NULL);
  if (!hv_file_write_atomic(state_dir, HV_ROOM_FILE, text, strlen(text), 0640, &local)) {
    g_set_error(error, HV_ROOM_ERROR, HV_ROOM_ERROR_IO, "the room cannot be recorded: %s", local->message);
    return FALSE;
  }
  *ret_previous = g_steal_pointer(&previous);
  return TRUE;
}
