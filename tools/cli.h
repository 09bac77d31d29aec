/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The `haven` CLI: one file per subcommand, wired by haven.c's table. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Exit statuses shared by every subcommand. */
enum {
  HV_EXIT_OK        = 0,  /* everything intact / done */
  HV_EXIT_INTEGRITY = 1,  /* some evidence failed verification */
  HV_EXIT_USAGE     = 2,  /* bad arguments, unreadable files, I/O errors */
  HV_EXIT_REFUSED   = 3,  /* control commands: havend refused, or the start/stop failed */
  HV_EXIT_PARTIAL   = 4,  /* export: the original and report written, the MP4 not */
};

typedef int (*HvCommandFunc)(int argc, char **argv);

int hv_cmd_keygen(int argc, char **argv);
int hv_cmd_verify(int argc, char **argv);
int hv_cmd_info(int argc, char **argv);
int hv_cmd_export(int argc, char **argv);
int hv_cmd_verify_clip(int argc, char **argv);
int hv_cmd_recover(int argc, char **argv);
int hv_cmd_status(int argc, char **argv);
int hv_cmd_start(int argc, char **argv);
int hv_cmd_stop(int argc, char **argv);
int hv_cmd_mark(int argc, char **argv);
int hv_cmd_sim(int argc, char **argv);
int hv_cmd_catalog(int argc, char **argv);
int hv_cmd_flash(int argc, char **argv);
int hv_cmd_custody(int argc, char **argv);
int hv_cmd_enroll(int argc, char **argv);
int hv_cmd_provision(int argc, char **argv);
int hv_cmd_audit(int argc, char **argv);
int hv_cmd_key(int argc, char **argv);

/* Parse argv with an option context built by the caller, adding --version
 * and -V (print the version and exit 0); prints "haven CMD: unknown option
 * -x" (or GLib's other complaints, named by the command) and returns FALSE
 * on bad usage. */
gboolean hv_cli_parse(GOptionContext *ctx, int *argc, char ***argv);
/* Print "haven CMD: message" to stderr. */
void hv_cli_error(const char *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* TRUE when path is one session directory; otherwise prints why not (not a
 * directory, a folder of sessions, no session at all) and returns FALSE. */
gboolean hv_cli_require_session_dir(const char *cmd, const char *path);

/* one if n is 1, else many: "1 marker", "2 markers". */
const char *hv_cli_plural(guint64 n, const char *one, const char *many);
/* An option's time: RFC 3339 ("2026-11-28T15:14:03Z", an offset, or none:
 * UTC) or a date YYYY-MM-DD (UTC midnight; with end_of_day, the midnight
 * after it, so an --until date includes that day). Prints what is wrong
 * (naming opt) and returns FALSE otherwise. */
gboolean hv_cli_parse_time(const char *opt, const char *text, gboolean end_of_day, gint64 *ret_us);

/* "2026-11-28 15:14:03 UTC" (newly allocated); "-" for 0. */
char *hv_cli_format_time(gint64 wall_us);
/* "01:02:03.4" (newly allocated). */
char *hv_cli_format_duration(guint64 us);

G_END_DECLS
