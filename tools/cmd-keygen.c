// SPDX-License-Identifier: GPL-2.0-or-later
/* haven keygen: a custodian key pair. */
#include "cli.h"
#include "vault/vault.h"

int
hv_cmd_keygen(int argc, char **argv)
{
  g_autofree char *out = NULL;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
      "Write PREFIX.pub (recipient, give to technicians) and PREFIX.key (identity, keep secret)",
      "PREFIX" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("- create a custodian key pair");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "The recipient file (PREFIX.pub) goes into each recorder's configuration; sessions\n"
    "are encrypted to it. The identity file (PREFIX.key, mode 0600) decrypts them with\n"
    "'haven export'. Existing files are never overwritten.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (!out || argc != 1) {
    hv_cli_error("keygen", "--out PREFIX is required and takes no other arguments");
    return HV_EXIT_USAGE;
  }
  g_autoptr(GError) err = NULL;
  g_autofree char *pub = NULL, *key = NULL;
  if (!hv_custodian_keygen(out, &pub, &key, &err)) {
    hv_cli_error("keygen", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  g_autoptr(HvIdentity) id = hv_identity_load(key, &err);
  if (!id) {
    hv_cli_error("keygen", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  g_autofree char *kid = hv_key_id(id->pk, sizeof id->pk);
  g_print("recipient: %s\nidentity:  %s (keep secret)\nkey id:    %s\n", pub, key, kid);
  return HV_EXIT_OK;
}
