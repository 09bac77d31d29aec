// SPDX-License-Identifier: GPL-2.0-or-later
/* havend: the recording appliance daemon. */
#define G_LOG_DOMAIN "havend"
#include "config.h"
#include "daemon.h"
#include "gpio.h"
#include "readiness.h"

#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* --check-config: what would keep a press from recording now (devices
 * absent, storage missing or short, clock). The configuration is still valid
 * and havend still starts, showing the fault until it is fixed: reported,
 * not an exit status (the unit's ExecStartPre must not keep the lights dark). */
static guint
report_readiness(const HvConfig *cfg)
{
  g_autoptr(GPtrArray) problems = hv_readiness_check(&cfg->rec, NULL, 0);
  for (guint i = 0; i < problems->len; i++)
    printf("%s: not ready: %s\n", cfg->path, ((HvReadinessProblem *) problems->pdata[i])->text);
  return problems->len;
}

int
main(int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  gboolean check = FALSE, version = FALSE, lights_off = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file (default /etc/haven/haven.conf)", "FILE" },
    { "check-config", 0, 0, G_OPTION_ARG_NONE, &check, "Check the configuration and board file, then exit", NULL },
    { "lights-off", 0, 0, G_OPTION_ARG_NONE, &lights_off,
      "Drive every light and the door sign off, then exit (the unit's ExecStopPost)", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL },
    { NULL }
  };
  /* Before any key or media is in memory: no core dump, no ptrace by the
   * same uid, /proc/PID files owned by root. A crash must not write the
   * device key or plaintext frames to disk (systemd-coredump, core files). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    g_printerr("havend: cannot make the process non-dumpable: %s\n", g_strerror(errno));
  /* under systemd LimitCORE=0 has done this (and @resources is filtered) */
  struct rlimit core;
  if (getrlimit(RLIMIT_CORE, &core) < 0 || core.rlim_cur != 0 || core.rlim_max != 0) {
    struct rlimit no_core = { 0, 0 };
    if (setrlimit(RLIMIT_CORE, &no_core) < 0)
      g_printerr("havend: cannot disable core dumps: %s\n", g_strerror(errno));
  }
  setlocale(LC_ALL, "");
  /* Each session's GStreamer threads would otherwise leave a malloc arena
   * apiece holding freed frames: idle memory grew by ~4 MB per session. */
  mallopt(M_ARENA_MAX, 2);
  g_autoptr(GOptionContext) ctx = g_option_context_new("- Haven interview-room recorder daemon");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "Records interviews from the configured cameras and microphone, sealed in memory\n"
    "to the custodians' keys. Buttons and lights through the board's GPIO; local\n"
    "control with 'haven status|start|stop|mark'. Exit status: 0 clean stop, 1 runtime\n"
    "error, 2 bad configuration or usage.");
  g_autoptr(GError) err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    g_printerr("havend: %s\n", err->message);
    return 2;
  }
  if (version) {
    printf("havend %s\n", HAVEN_VERSION);
    return 0;
  }
  if (sodium_init() < 0) {
    g_printerr("havend: libsodium failed to initialise\n");
    return 1;
  }
  g_autoptr(HvConfig) cfg = hv_config_load(config_path ? config_path : "/etc/haven/haven.conf", &err);
  if (!cfg) {
    g_printerr("havend: %s\n", err->message);
    return 2;
  }
  g_autoptr(HvBoard) board = hv_board_load(cfg->board_path, &err);
  if (!board) {
    g_printerr("havend: %s\n", err->message);
    return 2;
  }
  if (check) {
    guint not_ready = report_readiness(cfg);
    printf("%s: %s (board %s, %u recipient%s, %u storage root%s)\n", cfg->path,
           not_ready ? "valid, NOT READY to record (havend will show the fault until fixed)" : "OK",
           board->name, cfg->rec.n_recipients, cfg->rec.n_recipients == 1 ? "" : "s",
           g_strv_length(cfg->rec.roots), g_strv_length(cfg->rec.roots) == 1 ? "" : "s");
    return 0;
  }
  if (lights_off) {
    /* After havend ends, crash included, the kernel releases its lines and
     * most GPIO drivers keep driving the last value: a door sign could go on
     * claiming a recording. Requesting the outputs drives them low (their
     * default); releasing them leaves them there. */
    HvGpio *g = hv_gpio_new(g_steal_pointer(&board), NULL, NULL, &err);
    if (!g) {
      g_printerr("havend: lights not switched off: %s\n", err->message);
      return 1;
    }
    hv_gpio_free(g);
    return 0;
  }
  HvDaemon *d = hv_daemon_new(cfg, &err);
  if (!d) {
    g_printerr("havend: %s\n", err->message);
    return 1;
  }
  int rc = hv_daemon_run(d);
  hv_daemon_free(d);
  return rc;
}
