// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli.h"
#include "vault/vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "haven verify" from the program name g_set_prgname was given. */
static const char *
command_name(void)
{
  const char *prg = g_get_prgname();
  return prg && g_str_has_prefix(prg, "haven ") ? prg + 6 : prg ? prg : "haven";
}

gboolean
hv_cli_parse(GOptionContext *ctx, int *argc, char ***argv)
{
  /* every subcommand answers --version / -V as `haven --version` does */
  gboolean version = FALSE;
  GOptionEntry version_entries[] = {
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print haven's version and exit", NULL },
    { NULL }
  };
  g_option_context_add_main_entries(ctx, version_entries, NULL);
  g_autoptr(GError) err = NULL;
  if (!g_option_context_parse(ctx, argc, argv, &err)) {
    /* GLib says "Unknown option -x"; say which command, as git does */
    const char *msg = err->message;
    g_autofree char *text = NULL;
    if (g_error_matches(err, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION)) {
      const char *opt = strrchr(msg, ' ');
      text = g_strdup_printf("unknown option %s", opt ? opt + 1 : msg);
    } else {
      text = g_strdup(msg);
      if (text[0])
        text[0] = g_ascii_tolower(text[0]);
    }
    g_autofree char *safe = hv_text_escape(text, -1);
    g_printerr("haven %s: %s\nTry 'haven %s --help'.\n", command_name(), safe, command_name());
    return FALSE;
  }
  if (version) {
    printf("haven %s\n", HAVEN_VERSION);
    fflush(stdout);
    exit(HV_EXIT_OK);
  }
  return TRUE;
}

const char *
hv_cli_plural(guint64 n, const char *one, const char *many)
{
  return n == 1 ? one : many;
}

gboolean
hv_cli_parse_time(const char *opt, const char *text, gboolean end_of_day, gint64 *ret_us)
{
  int y, m, d;
  char tail;
  if (sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && strlen(text) == 10) {
    g_autoptr(GDateTime) dt = g_date_time_new_utc(y, m, d, 0, 0, 0);
    if (dt) {
      *ret_us = g_date_time_to_unix(dt) * G_USEC_PER_SEC + (end_of_day ? (gint64) 86400 * G_USEC_PER_SEC : 0);
      return TRUE;
    }
  } else {
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(text, utc);
    if (dt) {
      *ret_us = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
      return TRUE;
    }
  }
  g_autofree char *safe = hv_text_escape(text, -1);
  hv_cli_error(command_name(), "%s: '%s' is not a time (RFC 3339, e.g. 2026-11-28T15:14:03Z, or a "
               "date YYYY-MM-DD, UTC)", opt, safe);
  return FALSE;
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
  static const char expected[] = "expected header.hvh, records.hvr, index.hvi and seal.hvs";
  g_autofree char *shown = hv_text_escape(path, -1);
  if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
    hv_cli_error(cmd, "%s is not a session directory (%s): %s", shown, expected,
                 g_file_test(path, G_FILE_TEST_EXISTS) ? "not a directory" : "no such directory");
    return FALSE;
  }
  if (hv_vault_is_session_dir(path))
    return TRUE;
  g_autofree char *report = g_build_filename(path, "custody-report.txt", NULL);
  if (g_file_test(report, G_FILE_TEST_IS_REGULAR)) {
    hv_cli_error(cmd, "%s is not a session directory (%s): it is what 'haven export' wrote (custody-report.txt); "
                 "give the sealed session it was exported from", shown, expected);
    return FALSE;
  }
  g_autoptr(GPtrArray) found = hv_vault_find_sessions(path, NULL);
  if (found && found->len > 0) {
    g_autofree char *first = hv_text_escape(found->pdata[0], -1);
    hv_cli_error(cmd, "%s is not a session directory (%s): it is a folder of %u %s, not one session; give one "
                 "session directory, e.g. %s ('haven verify' takes folders)", shown, expected, found->len,
                 hv_cli_plural(found->len, "session", "sessions"), first);
  } else {
    hv_cli_error(cmd, "%s is not a session directory (%s): it holds no session", shown, expected);
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
