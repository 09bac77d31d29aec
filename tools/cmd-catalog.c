// SPDX-License-Identifier: GPL-2.0-or-later
/* haven catalog rebuild: the catalog is an index; the vault files are the truth. */
#include "catalog.h"
#include "cli.h"
#include "config.h"

#include <stdio.h>

int
hv_cmd_catalog(int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "havend configuration (default "
      "/etc/haven/haven.conf): where the catalog and storage roots are", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("rebuild - rebuild the catalog from the vault");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (argc != 2 || !g_str_equal(argv[1], "rebuild")) {
    hv_cli_error("catalog", "usage: haven catalog rebuild [--config FILE]");
    return HV_EXIT_USAGE;
  }
  g_autoptr(GError) err = NULL;
  g_autoptr(HvConfig) cfg = hv_config_load(config_path ? config_path : "/etc/haven/haven.conf", &err);
  if (!cfg) {
    hv_cli_error("catalog", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  gboolean fresh;
  g_autoptr(HvCatalog) cat = hv_catalog_open_or_recreate(cfg->catalog_path, &fresh, &err);
  gint n = cat ? hv_catalog_rebuild(cat, cfg->rec.roots, &err) : -1;
  if (n < 0) {
    hv_cli_error("catalog", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  printf("%s: %d sessions indexed from %s\n", cfg->catalog_path, n, cfg->rec.roots[0]);
  return HV_EXIT_OK;
}
