// SPDX-License-Identifier: GPL-2.0-or-later
/* haven recover: seal sessions that a crash or power cut left open. */
#include "cli.h"
#include "vault-recover.h"
#include "vault-verify.h"

#include <stdio.h>

int
hv_cmd_recover(int argc, char **argv)
{
  g_autofree char *key_path = NULL;
  GOptionEntry entries[] = {
    { "device-key", 0, 0, G_OPTION_ARG_FILENAME, &key_path,
      "The device's secret signing key (as havend uses it)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("PATH... - seal open sessions INTERRUPTED");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "For each unsealed session under PATH: keep the records that a signed checkpoint\n"
    "vouches for, drop the torn tail, and write an INTERRUPTED seal signed by the\n"
    "device key. No decryption key is used. Sealed sessions are left alone; running\n"
    "it twice gives the same result. havend does this itself at every start.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (!key_path || argc < 2) {
    hv_cli_error("recover", "--device-key FILE and at least one PATH are required");
    return HV_EXIT_USAGE;
  }
  g_autoptr(GError) err = NULL;
  g_autoptr(HvDeviceKey) key = hv_device_key_load(key_path, &err);
  if (!key) {
    hv_cli_error("recover", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  int ret = HV_EXIT_OK;
  for (int i = 1; i < argc; i++) {
    g_autoptr(GPtrArray) dirs = hv_vault_find_sessions(argv[i], &err);
    if (!dirs) {
      hv_cli_error("recover", "%s", err->message);
      return HV_EXIT_USAGE;
    }
    for (guint k = 0; k < dirs->len; k++) {
      HvRecoverResult r;
      g_clear_error(&err);
      if (!hv_vault_recover(dirs->pdata[k], key, &r, &err)) {
        printf("FAILED      %s: %s\n", (char *) dirs->pdata[k], err->message);
        ret = HV_EXIT_INTEGRITY;
      } else if (r.recovered) {
        g_autofree char *fp = hv_fingerprint_from_seal_hash(r.seal_hash);
        printf("RECOVERED   %s: INTERRUPTED, %" G_GUINT64_FORMAT " records kept, %" G_GUINT64_FORMAT
               " torn bytes dropped, fingerprint %s\n", (char *) dirs->pdata[k], r.kept_records,
               r.dropped_bytes, fp);
      } else {
        printf("SEALED      %s: already sealed, left alone\n", (char *) dirs->pdata[k]);
      }
    }
  }
  return ret;
}
