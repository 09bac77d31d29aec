// SPDX-License-Identifier: GPL-2.0-or-later
/* havend: the recording appliance daemon. */
#define G_LOG_DOMAIN "havend"
#include "catalog.h"
#include "config-check.h"
#include "config.h"
#include "daemon.h"
#include "enrollment.h"
#include "gpio.h"
#include "readiness.h"
#include "journal.h"
#include "provision.h"
#include "service-user.h"

#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* Written into the board image when it is built (board/image). */
#define HV_IMAGE_VERSION_FILE "/etc/haven-image-version"

/* Each line of a (multi-line) error, as "havend: LINE" on stderr. */
static void
print_lines(const char *text)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    g_printerr("havend: %s\n", lines[i]);
}

/* --user NAME; by default the unit's user when run as root, else oneself. */
static HvServiceUser *
service_user(const char *name, GError **error)
{
  return hv_service_user_lookup(name ? name : geteuid() == 0 ? HV_SERVICE_USER_DEFAULT : NULL, error);
}

/* --check-config: what would keep a press from recording now (devices
 * absent, storage short, clock). The configuration is still valid and havend
 * would start, showing the fault until it is fixed: exit 3, not 2. */
static guint
report_readiness(const HvConfig *cfg, gboolean storage_ok)
{
  g_autoptr(GPtrArray) problems = hv_readiness_check(&cfg->rec, NULL, 0);
  guint n = 0;
  for (guint i = 0; i < problems->len; i++) {
    const HvReadinessProblem *p = problems->pdata[i];
    if (p->kind == HV_READINESS_STORAGE && !storage_ok)
      continue; /* the storage roots' problems are reported above already */
    printf("%s: not ready: %s\n", cfg->path, p->text);
    n++;
  }
  return n;
}

/* --check-config: every problem in one run, exit 2 when there is any. */
static int
check_config(const char *path, const char *user_name)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(HvConfig) cfg = hv_config_load_all(path, problems);
  g_autoptr(HvBoard) board = NULL;
  g_autoptr(GError) err = NULL;
  if (cfg && cfg->board_path && !(board = hv_board_load(cfg->board_path, &err)))
    g_ptr_array_add(problems, g_strdup_printf("%s: [device] board: %s", cfg->path, err->message));
  g_clear_error(&err);
  g_autoptr(HvServiceUser) user = service_user(user_name, &err);
  if (!user) {
    g_ptr_array_add(problems, g_strdup_printf("--user: %s (the user havend runs as; access is checked as that "
                                              "user; until it exists, access is checked as the current user)", err->message));
    user = hv_service_user_lookup(NULL, NULL);
  }
  if (cfg && user)
    hv_config_check_system(cfg, board, cfg->board_path, user, problems);
  gboolean storage_ok = TRUE;
  for (guint i = 0; i < problems->len; i++)
    storage_ok = storage_ok && !strstr(problems->pdata[i], "[storage] roots");
  guint not_ready = cfg ? report_readiness(cfg, storage_ok) : 0;
  if (problems->len > 0) {
    for (guint i = 0; i < problems->len; i++)
      print_lines(problems->pdata[i]);
    g_printerr("havend: %s: %u problem%s found\n", path, problems->len, problems->len == 1 ? "" : "s");
    return 2;
  }
  if (not_ready) {
    printf("%s: valid, NOT READY to record: %u problem%s above (havend starts and shows the fault until they "
           "are fixed)\n", cfg->path, not_ready, not_ready == 1 ? "" : "s");
    return 3;
  }
  printf("%s: OK (board %s, %u recipient%s, %u storage root%s, checked as user %s)\n", cfg->path, board->name,
         cfg->rec.n_recipients, cfg->rec.n_recipients == 1 ? "" : "s", g_strv_length(cfg->rec.roots),
         g_strv_length(cfg->rec.roots) == 1 ? "" : "s", hv_service_user_name(user));
  return 0;
}

/* Journal and, when the catalog is there, audit it. */
static void
audit_device_key(const HvConfig *cfg, const char *actor, const char *action, const char *text)
{
  hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_DEVICEKEY, "%s by %s: %s", action, actor, text);
  if (!g_file_test(cfg->catalog_path, G_FILE_TEST_EXISTS))
    return;
  g_autoptr(GError) err = NULL;
  g_autoptr(HvCatalog) cat = hv_catalog_open(cfg->catalog_path, &err);
  if (!cat || !hv_catalog_audit(cat, actor, action, text, &err))
    g_printerr("havend: warning: not audited in the catalog %s: %s\n", cfg->catalog_path, err->message);
}

/* --init-device [--replace]: the only way a device key comes to be. */
static int
init_device(const HvConfig *cfg, gboolean replace, const char *user_name)
{
  const char *sudo = g_getenv("SUDO_USER");
  g_autofree char *actor = sudo ? g_strdup_printf("%s (sudo by %s)", g_get_user_name(), sudo)
                                : g_strdup(g_get_user_name());
  g_autoptr(GError) err = NULL;
  g_autoptr(HvServiceUser) user = service_user(user_name, &err);
  if (!user || !hv_service_user_become(user, &err)) {
    g_printerr("havend: --init-device: %s (the key must belong to the user havend runs as: --user NAME)\n",
               err->message);
    return 2;
  }
  g_auto(HvProvisionResult) res = { 0 };
  if (!hv_provision_init_device(cfg, replace, &res, &err)) {
    print_lines(err->message);
    return g_error_matches(err, HV_PROVISION_ERROR, HV_PROVISION_ERROR_NO_DIRECTORY) ? 2 : 1;
  }
  g_autofree char *text = NULL;
  if (res.archived_key) {
    text = g_strdup_printf("old device %s archived as %s%s%s; new device %s, public key %s, in %s; the ledger "
                           "starts again at sequence 1", res.old_key_id ? res.old_key_id : "(unreadable)",
                           res.archived_key, res.archived_state ? ", its device state as " : "",
                           res.archived_state ? res.archived_state : "", res.key_id, res.public_hex, res.key_path);
    audit_device_key(cfg, actor, "replace device key", text);
    printf("replaced the device key: %s\n", text);
    if (res.old_open_seq)
      printf("note: the old device left session sequence %" G_GUINT64_FORMAT " unsealed; havend no longer seals "
             "it (another key): seal it INTERRUPTED with 'haven recover --device-key %s --open-seq %"
             G_GUINT64_FORMAT " ROOT...'\n", res.old_open_seq, res.archived_key, res.old_open_seq);
  } else {
    text = g_strdup_printf("device %s, public key %s, in %s", res.key_id, res.public_hex, res.key_path);
    audit_device_key(cfg, actor, "create device key", text);
    printf("created the device key %s (user %s)\n", res.key_path, hv_service_user_name(user));
  }
  printf("device id:  %s\npublic key: %s\ngive %s to the custodians: haven verify --device-key pins it\n",
         res.key_id, res.public_hex, res.pub_path);
  return 0;
}

/* The image's version for the enrollment file: --image-version, else what
 * the image recorded at build time, else "unknown". */
static char *
image_version(const char *given)
{
  if (given)
    return g_strdup(given);
  g_autofree char *text = NULL;
  if (g_file_get_contents(HV_IMAGE_VERSION_FILE, &text, NULL, NULL)) {
    char *nl = strchr(text, '\n');
    if (nl)
      *nl = '\0'; /* its first line */
    g_strstrip(text);
    if (*text && g_utf8_validate(text, -1, NULL))
      return g_steal_pointer(&text);
  }
  return g_strdup("unknown");
}

/* --write-enrollment FILE: the device introduces its key to the custodians.
 * Run as root by the first boot service (the key is readable by root); the
 * private key is only read, never written anywhere. */
static int
write_enrollment(const HvConfig *cfg, const char *path, const char *version)
{
  g_autoptr(GError) err = NULL;
  if (!g_file_test(cfg->device_key_path, G_FILE_TEST_EXISTS)) {
    g_printerr("havend: --write-enrollment: no device key at %s ([device] key of %s): create it first with "
               "'havend --init-device'; nothing was written\n", cfg->device_key_path, cfg->path);
    return 2;
  }
  g_autoptr(HvDeviceKey) key = hv_device_key_load(cfg->device_key_path, &err);
  if (!key) {
    g_printerr("havend: --write-enrollment: %s; nothing was written\n", err->message);
    return 2;
  }
  g_autofree char *image = image_version(version);
  if (!hv_enrollment_write(path, key, cfg->rec.room, image, HAVEN_VERSION, &err)) {
    g_printerr("havend: --write-enrollment: %s\n", err->message);
    return 1;
  }
  g_autofree char *id = hv_key_id(key->pk, HV_DEVICE_PK_SIZE);
  printf("wrote the enrollment file %s: device %s, room '%s', image %s\n"
         "give it to the custodians: 'haven enroll %s' makes haven verify/export pin this device\n",
         path, id, cfg->rec.room, image, path);
  return 0;
}

int
main(int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *user_name = NULL;
  g_autofree char *enrollment_path = NULL;
  g_autofree char *image_version_arg = NULL;
  gboolean check = FALSE, version = FALSE, lights_off = FALSE, init = FALSE, replace = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file (default /etc/haven/haven.conf)", "FILE" },
    { "check-config", 0, 0, G_OPTION_ARG_NONE, &check, "Check the configuration, the board and the system as the service user, report every problem, then exit: 0 OK, 2 problems, 3 valid but not ready to record now", NULL },
    { "init-device", 0, 0, G_OPTION_ARG_NONE, &init,
      "Provision this device: create the device key ([device] key) and a fresh device state, then exit; "
      "never overwrites a key", NULL },
    { "replace", 0, 0, G_OPTION_ARG_NONE, &replace,
      "With --init-device: deliberately replace the device key (the old one and its state are archived, "
      "the act is audited)", NULL },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &user_name,
      "With --check-config and --init-device: the user havend runs as (default: haven when run as root, "
      "else the current user)", "NAME" },
    { "write-enrollment", 0, 0, G_OPTION_ARG_FILENAME, &enrollment_path,
      "Write the enrollment file (device id, public key, room, image version; signed with the device key) to "
      "FILE atomically, then exit; for the custodians' 'haven enroll'", "FILE" },
    { "image-version", 0, 0, G_OPTION_ARG_STRING, &image_version_arg,
      "With --write-enrollment: the image version (default: " HV_IMAGE_VERSION_FILE ", else unknown)", "V" },
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
    "error, 2 bad configuration or usage, 3 --check-config: valid but not ready to\n"
    "record now. The device key is created only by\n"
    "--init-device, never by a start: a missing key is a configuration error.");
  g_autoptr(GError) err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    g_printerr("havend: %s\n", err->message);
    return 2;
  }
  if (version) {
    printf("havend %s\n", HAVEN_VERSION);
    return 0;
  }
  if (replace && !init) {
    g_printerr("havend: --replace is only for --init-device\n");
    return 2;
  }
  if (image_version_arg && !enrollment_path) {
    g_printerr("havend: --image-version is only for --write-enrollment\n");
    return 2;
  }
  if (enrollment_path && (check || init || lights_off)) {
    g_printerr("havend: --write-enrollment goes alone (run it after --init-device)\n");
    return 2;
  }
  if (user_name && !check && !init) {
    g_printerr("havend: --user is only for --check-config and --init-device (the unit's User= runs havend)\n");
    return 2;
  }
  if (sodium_init() < 0) {
    g_printerr("havend: libsodium failed to initialise\n");
    return 1;
  }
  const char *path = config_path ? config_path : "/etc/haven/haven.conf";
  if (check)
    return check_config(path, user_name);
  g_autoptr(HvConfig) cfg = hv_config_load(path, &err);
  if (!cfg) {
    print_lines(err->message);
    return 2;
  }
  if (init)
    return init_device(cfg, replace, user_name);
  if (enrollment_path)
    return write_enrollment(cfg, enrollment_path, image_version_arg);
  g_autoptr(HvBoard) board = hv_board_load(cfg->board_path, &err);
  if (!board) {
    g_printerr("havend: %s: [device] board: %s\n", cfg->path, err->message);
    return 2;
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
    return g_error_matches(err, HV_DAEMON_ERROR, HV_DAEMON_ERROR_NO_DEVICE_KEY) ? 2 : 1;
  }
  int rc = hv_daemon_run(d);
  hv_daemon_free(d);
  return rc;
}
