// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli.h"
#include "vault/vault.h"

#include <stdio.h>

gboolean
hv_cli_parse(GOptionContext *ctx, int *argc, char ***argv)
{
  g_autoptr(GError) err = NULL;
  if (!g_option_context_parse(ctx, argc, argv, &err)) {
    g_printerr("%s\nTry '%s --help'.\n", err->message, g_get_prgname());
    return FALSE;
  }
  return TRUE;
}

void
hv_cli_error(const char *cmd, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_printerr("haven %s: %s\n", cmd, msg);
}

gboolean
hv_cli_require_session_dir(const char *cmd, const char *path)
{
  g_autofree char *shown = hv_text_escape(path, -1);
  if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
    hv_cli_error(cmd, "%s: not a directory", shown);
    return FALSE;
  }
  if (hv_vault_is_session_dir(path))
    return TRUE;
  g_autoptr(GPtrArray) found = hv_vault_find_sessions(path, NULL);
  if (found && found->len > 0) {
    g_autofree char *first = hv_text_escape(found->pdata[0], -1);
    hv_cli_error(cmd, "%s is a folder of %u sessions, not one session: give one session directory, "
                 "e.g. %s ('haven verify' takes folders)", shown, found->len, first);
  } else {
    hv_cli_error(cmd, "%s holds no session (no header.hvh, records.hvr, index.hvi or seal.hvs)", shown);
  }
  return FALSE;
}

char *
hv_cli_format_time(gint64 wall_us)
{
  if (wall_us == 0)
    return g_strdup("-");
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(wall_us / G_USEC_PER_SEC);
  if (!dt)
    return g_strdup("(invalid time)");
  return g_date_time_format(dt, "%Y-%m-%d %H:%M:%S UTC");
}

char *
hv_cli_format_duration(guint64 us)
{
  guint64 ds = us / 100000;
  return g_strdup_printf("%02" G_GUINT64_FORMAT ":%02u:%02u.%u", ds / 36000, (guint) (ds / 600 % 60),
                         (guint) (ds / 10 % 60), (guint) (ds % 10));
}
