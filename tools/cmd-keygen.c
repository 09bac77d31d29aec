// SPDX-License-Identifier: GPL-2.0-or-later
/* haven keygen: a custodian key pair, or a signing key added to an old identity. */
#include "cli.h"
#include "vault/vault.h"

static int
upgrade(const char *path)
{
  g_autoptr(GError) err = NULL;
  g_autofree char *signer = NULL;
  if (!hv_identity_upgrade(path, &signer, &err)) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    hv_cli_error("keygen", "--upgrade: %s", m);
    return HV_EXIT_USAGE;
  }
  g_autoptr(HvIdentity) id = hv_identity_load(path, &err);
  if (!id) {
    hv_cli_error("keygen", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  g_autofree char *kid = hv_key_id(id->pk, sizeof id->pk);
  g_autofree char *sid = hv_key_id(id->sign_pk, sizeof id->sign_pk);
  g_print("identity:  %s (upgraded in place; its decryption key is unchanged)\nsigner:    %s\n"
          "key id:    %s\nsigner id: %s\n", path, signer, kid, sid);
  return HV_EXIT_OK;
}

int
hv_cmd_keygen(int argc, char **argv)
{
  g_autofree char *out = NULL;
  g_autofree char *upgrade_path = NULL;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
      "Write PREFIX.pub (recipient, give to technicians), PREFIX.key (identity, keep secret) and "
      "PREFIX.sign.pub (your signing public key, give to whoever checks your custody records)",
      "PREFIX" },
    { "upgrade", 0, 0, G_OPTION_ARG_FILENAME, &upgrade_path,
      "Add a signing key to an identity file made before signing keys existed", "KEYFILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("- create a custodian key pair");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "The recipient file (PREFIX.pub) goes into each recorder's configuration; sessions\n"
    "are encrypted to it. The identity file (PREFIX.key, mode 0600) decrypts them with\n"
    "'haven export' and signs custody events and reports with its signing key; its\n"
    "public half is PREFIX.sign.pub. Existing files are never overwritten.\n"
    "--upgrade KEYFILE rewrites an older identity file atomically (mode 0600) with a\n"
    "new signing key added and its decryption key unchanged, and writes the signing\n"
    "public key beside it (X.key -> X.sign.pub).");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (upgrade_path && !out && argc == 1)
    return upgrade(upgrade_path);
  if (!out || upgrade_path || argc != 1) {
    hv_cli_error("keygen", "give either --out PREFIX or --upgrade KEYFILE, and no other arguments");
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
  g_autofree char *signer = hv_identity_signer_path(key);
  g_autofree char *sid = hv_key_id(id->sign_pk, sizeof id->sign_pk);
  g_print("recipient: %s\nidentity:  %s (keep secret)\nsigner:    %s\nkey id:    %s\nsigner id: %s\n", pub,
          key, signer, kid, sid);
  return HV_EXIT_OK;
}
