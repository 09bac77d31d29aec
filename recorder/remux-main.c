// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * haven-remux: export's MPEG-TS to MP4 remux, in its own process (haven
 * export runs it; remux-process.h has the protocol). The only Haven program
 * that links libavformat.
 */
#define G_LOG_DOMAIN "haven-remux"
#include "remux-process.h"
#include "ts-remux.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* All of stdin, at most HV_REMUX_PROCESS_REQUEST_MAX bytes. */
static char *
read_request(gsize *len, GError **error)
{
  g_autoptr(GByteArray) buf = g_byte_array_new();
  guint8 chunk[65536];
  for (;;) {
    ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "reading the request on stdin: %s",
                  g_strerror(errno));
      return NULL;
    }
    if (n == 0)
      break;
    if (buf->len + (gsize) n > HV_REMUX_PROCESS_REQUEST_MAX) {
      g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "the request on stdin is longer than %u bytes",
                  HV_REMUX_PROCESS_REQUEST_MAX);
      return NULL;
    }
    g_byte_array_append(buf, chunk, (guint) n);
  }
  *len = buf->len;
  g_byte_array_append(buf, (const guint8 *) "", 1);
  return (char *) g_byte_array_free(g_steal_pointer(&buf), FALSE);
}

int
main(int argc, char **argv)
{
  gboolean version = FALSE;
  GOptionEntry entries[] = {
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  /* The media is the session's plaintext: no core dump of it. */
  (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct rlimit no_core = { 0, 0 };
  (void) setrlimit(RLIMIT_CORE, &no_core);
  setlocale(LC_ALL, "");
  g_autoptr(GOptionContext) ctx = g_option_context_new("TS MP4 - remux one export's MPEG-TS to its MP4 "
                                                       "(haven export runs this program)");
  g_option_context_set_description(ctx, "Reads {\"interrupted\": BOOL, \"chapters\": [{\"start_us\": INT, "
                                        "\"title\": STR}, ...]} on stdin; writes what the MP4 holds as JSON "
                                        "on stdout.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_autoptr(GError) err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    g_printerr("haven-remux: %s\n", err->message);
    return 2;
  }
  if (version) {
    g_print("haven-remux %s\n", HAVEN_VERSION);
    return 0;
  }
  if (argc != 3) {
    g_printerr("haven-remux: expected the MPEG-TS and the MP4 paths (haven export runs this program)\n");
    return 2;
  }
  gsize len = 0;
  g_autofree char *json = read_request(&len, &err);
  g_autoptr(HvRemuxRequest) req = json ? hv_remux_process_request_parse(json, len, &err) : NULL;
  if (!req) {
    g_printerr("haven-remux: %s\n", err->message);
    return 1;
  }
  HvRemuxResult res;
  if (!hv_ts_remux_to_mp4(argv[1], argv[2], hv_remux_request_options(req), &res, &err)) {
    g_printerr("haven-remux: %s\n", err->message);
    return 1;
  }
  g_autofree char *out = hv_remux_process_result_to_json(&res);
  if (printf("%s\n", out) < 0 || fflush(stdout) != 0) {
    g_printerr("haven-remux: writing the result: %s\n", g_strerror(errno));
    return 1;
  }
  return 0;
}
