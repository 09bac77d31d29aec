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
};

typedef int (*HvCommandFunc)(int argc, char **argv);

int hv_cmd_keygen(int argc, char **argv);
int hv_cmd_verify(int argc, char **argv);
int hv_cmd_info(int argc, char **argv);
int hv_cmd_export(int argc, char **argv);
int hv_cmd_recover(int argc, char **argv);
int hv_cmd_status(int argc, char **argv);
int hv_cmd_start(int argc, char **argv);
int hv_cmd_stop(int argc, char **argv);
int hv_cmd_mark(int argc, char **argv);
int hv_cmd_sim(int argc, char **argv);
int hv_cmd_catalog(int argc, char **argv);
int hv_cmd_enroll(int argc, char **argv);
int hv_cmd_provision(int argc, char **argv);
int hv_cmd_flash(int argc, char **argv);

/* Parse argv with an option context built by the caller; prints the error
 * and returns FALSE on bad usage. */
gboolean hv_cli_parse(GOptionContext *ctx, int *argc, char ***argv);
/* Print "haven CMD: message" to stderr. */
void hv_cli_error(const char *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* TRUE when path is one session directory; otherwise prints why not (not a
 * directory, a folder of sessions, no session at all) and returns FALSE. */
gboolean hv_cli_require_session_dir(const char *cmd, const char *path);

/* "2026-11-28 15:14:03 UTC" (newly allocated); "-" for 0. */
char *hv_cli_format_time(gint64 wall_us);
/* "01:02:03.4" (newly allocated). */
char *hv_cli_format_duration(guint64 us);

G_END_DECLS
