// SPDX-License-Identifier: GPL-2.0-or-later
/* haven key info FILE: what a key file is and its key id, never its secret. */
#include "cli.h"
#include "json-out.h"
#include "vault/vault.h"

#include <stdio.h>

typedef struct {
  const char *type;      /* machine name, for --json */
  const char *text;      /* what the text output says it is */
  gboolean    secret;
  char       *key_id;
  char       *signing;   /* an identity: its signing key, or that it has none (text output only) */
} KeyInfo;

/* Try each kind of haven key file; the secret ones are loaded into secure
 * memory and only their public half is used. */
static gboolean
identify(const char *path, KeyInfo *k, GError **error)
{
  guint8 pk[HV_DEVICE_PK_SIZE > HV_RECIPIENT_PK_SIZE ? HV_DEVICE_PK_SIZE : HV_RECIPIENT_PK_SIZE];
  g_autoptr(GError) first = NULL;
  if (hv_recipient_load(path, pk, &first)) {
    *k = (KeyInfo) { "custodian-recipient", "custodian recipient (public: goes into the recorders' "
                     "[custodians] recipients)", FALSE, hv_key_id(pk, HV_RECIPIENT_PK_SIZE), NULL };
    return TRUE;
  }
  g_autoptr(HvIdentity) id = hv_identity_load(path, NULL);
  if (id) {
    *k = (KeyInfo) { "custodian-identity", "custodian identity (SECRET: decrypts sessions with 'haven "
                     "export'; the key id is its recipient's)", TRUE, hv_key_id(id->pk, HV_RECIPIENT_PK_SIZE), NULL };
    if (id->sign_sk) {
      g_autofree char *sid = hv_key_id(id->sign_pk, HV_SIGNER_PK_SIZE);
      g_autofree char *spub = hv_identity_signer_path(path);
      g_autofree char *shown = hv_text_escape(spub, -1);
      k->signing = g_strdup_printf("signer id %s (signs custody events and reports; its public half is %s)",
                                   sid, shown);
    } else {
      g_autofree char *shown = hv_text_escape(path, -1);
      k->signing = g_strdup_printf("none (made before signing keys: export records no custody event and signs "
                                   "no report; 'haven keygen --upgrade %s' adds one)", shown);
    }
    return TRUE;
  }
  g_autoptr(HvDeviceKey) dev = hv_device_key_load(path, NULL);
  if (dev) {
    *k = (KeyInfo) { "device-private", "device private key (SECRET: signs sessions; it stays on the board; "
                     "the key id is its public key's)", TRUE, hv_key_id(dev->pk, HV_DEVICE_PK_SIZE), NULL };
    return TRUE;
  }
  if (hv_device_pubkey_load(path, pk, NULL)) {
    *k = (KeyInfo) { "device-public", "device public key (pins the device: 'haven verify --device-key')",
                     FALSE, hv_key_id(pk, HV_DEVICE_PK_SIZE), NULL };
    return TRUE;
  }
  guint8 spk[HV_SIGNER_PK_SIZE];
  if (hv_signer_load(path, spk, NULL)) {
    *k = (KeyInfo) { "custodian-signer", "custodian signing public key (checks that custodian's custody records "
                     "and signed reports: 'haven custody verify --signer'; the key id is keygen's signer id)",
                     FALSE, hv_key_id(spk, HV_SIGNER_PK_SIZE), NULL };
    return TRUE;
  }
  g_propagate_error(error, g_steal_pointer(&first));
  return FALSE;
}

int
hv_cmd_key(int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document (docs/JSON.md)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("info FILE - show what a key file is and its key id");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "FILE is any haven key file: a custodian recipient (PREFIX.pub), identity\n"
    "(PREFIX.key) or signing public key (PREFIX.sign.pub) from 'haven keygen', a device\n"
    "public key (device.key.pub) or the device's private key. Prints its type and key id, the id 'haven info' lists for\n"
    "a session's recipients and device. A secret key is never printed.\n"
    "Exit status: 0 a key file, 2 not a key file, damaged or unreadable.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (argc != 3 || !g_str_equal(argv[1], "info")) {
    hv_cli_error("key", "usage: haven key info FILE");
    return HV_EXIT_USAGE;
  }
  const char *path = argv[2];
  g_autofree char *shown = hv_text_escape(path, -1);
  KeyInfo k = { 0 };
  g_autoptr(GError) err = NULL;
  if (!identify(path, &k, &err)) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
      hv_cli_error("key", "%s: not a haven key file, or damaged (expected a custodian recipient, identity or "
                   "signing public key, a device public or private key): %s", shown, m);
    else
      hv_cli_error("key", "%s", m);
    return HV_EXIT_USAGE;
  }
  if (json) {
    g_autoptr(JsonBuilder) b = hv_json_begin("haven.key/1");
    hv_json_add_text(b, "path", path);
    hv_json_add_text(b, "type", k.type);
    hv_json_add_bool(b, "secret", k.secret);
    hv_json_add_text(b, "key_id", k.key_id);
    hv_json_print(b);
  } else {
    printf("file:   %s\ntype:   %s\nkey id: %s\n", shown, k.text, k.key_id);
    if (k.signing)
      printf("signer: %s\n", k.signing);
  }
  g_free(k.key_id);
  g_free(k.signing);
  return HV_EXIT_OK;
}
