// SPDX-License-Identifier: GPL-2.0-or-later
/* haven enroll FILE | --list: the custodian's trust list of devices. */
#include "cli.h"
#include "trust.h"
#include "vault/vault.h"

#include <stdio.h>

static int
list(const char *dir)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GError) err = NULL;
  g_autoptr(GPtrArray) devices = hv_trust_list(dir, problems, &err);
  if (!devices) {
    hv_cli_error("enroll", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  printf("trust list %s: %u device%s\n", dir, devices->len, devices->len == 1 ? "" : "s");
  for (guint i = 0; i < devices->len; i++) {
    const HvTrustedDevice *d = devices->pdata[i];
    g_autofree char *room = hv_text_escape(d->room, -1);
    printf("device %s  room \"%s\"  image %s  enrolled file created %s  key %s\n", d->device_id, room,
           d->image_version, d->created, d->pub_path);
  }
  for (guint i = 0; i < problems->len; i++)
    hv_cli_error("enroll", "%s", (const char *) problems->pdata[i]);
  return problems->len ? HV_EXIT_INTEGRITY : HV_EXIT_OK;
}

static int
enroll(const char *path, const char *dir)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(HvEnrollment) e = hv_enrollment_load(path, &err);
  if (!e) {
    hv_cli_error("enroll", "%s; nothing enrolled", err->message);
    return err->code == HV_ENROLLMENT_ERROR_SIGNATURE || err->code == HV_ENROLLMENT_ERROR_MISMATCH
               ? HV_EXIT_INTEGRITY : HV_EXIT_USAGE;
  }
  g_autoptr(HvTrustedDevice) previous = NULL;
  if (!hv_trust_add(dir, e, &previous, &err)) {
    hv_cli_error("enroll", "%s; nothing enrolled", err->message);
    return err->code == HV_TRUST_ERROR_CORRUPT ? HV_EXIT_INTEGRITY : HV_EXIT_USAGE;
  }
  const char *id = hv_enrollment_device_id(e);
  g_autofree char *room = hv_text_escape(hv_enrollment_room(e), -1);
  if (!previous) {
    printf("enrolled device %s (room \"%s\", image %s, enrollment created %s) in %s\n", id, room,
           hv_enrollment_image_version(e), hv_enrollment_created(e), dir);
  } else if (!g_str_equal(previous->room, hv_enrollment_room(e))) {
    g_autofree char *old = hv_text_escape(previous->room, -1);
    printf("re-enrolled device %s: room changed from \"%s\" to \"%s\" (same key; enrollment created %s)\n", id,
           old, room, hv_enrollment_created(e));
  } else {
    printf("device %s was already enrolled (room \"%s\", same key): its enrollment file is updated\n", id, room);
  }
  printf("haven verify and haven export now pin sessions of device %s to its key\n", id);
  return HV_EXIT_OK;
}

int
hv_cmd_enroll(int argc, char **argv)
{
  g_autofree char *trust_dir = NULL;
  gboolean do_list = FALSE;
  GOptionEntry entries[] = {
    { "list", 0, 0, G_OPTION_ARG_NONE, &do_list, "List the enrolled devices (a damaged entry exits 1)", NULL },
    { "trust-dir", 0, 0, G_OPTION_ARG_FILENAME, &trust_dir,
      "The trust list (default $HAVEN_TRUST_DIR, else $XDG_CONFIG_HOME/haven/devices)", "DIR" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("FILE - trust the device of an enrollment file");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "FILE is the enrollment.conf a board writes on its config partition at first boot\n"
    "(havend --write-enrollment): the device's id and public key, its room, image and\n"
    "haven versions, signed with the device key. It is checked (format, the id belongs\n"
    "to the key, the signature) and the device is added to the trust list: DIR/ID.pub\n"
    "(usable with --device-key) and DIR/ID.enrollment.conf. Then haven verify and haven\n"
    "export pin that device's sessions to its key without --device-key. Enrolling the\n"
    "same device again (a new room) updates its entry and says so.\n"
    "Exit status: 0 enrolled (or listed), 1 the file's signature or id is wrong, or a\n"
    "trust entry is damaged, 2 usage or I/O error, or the file does not parse.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  g_autofree char *dir = trust_dir ? g_strdup(trust_dir) : hv_trust_dir();
  if (do_list) {
    if (argc > 1) {
      hv_cli_error("enroll", "--list takes no FILE");
      return HV_EXIT_USAGE;
    }
    return list(dir);
  }
  if (argc != 2) {
    hv_cli_error("enroll", argc < 2 ? "no FILE given; see 'haven enroll --help'" : "one FILE at a time");
    return HV_EXIT_USAGE;
  }
  return enroll(argv[1], dir);
}
