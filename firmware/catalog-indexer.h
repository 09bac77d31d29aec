/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * catalog-indexer: keeps the catalog up to date from a background thread with
 * its own SQLite connection, so verifying a long session (or rebuilding the
 * whole catalog) never holds up the main loop: buttons and lights stay live.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _HvCatalogIndexer HvCatalogIndexer;

HvCatalogIndexer *hv_catalog_indexer_new(const char *catalog_path);
/* Verify dir and store it (replacing an older entry). */
void hv_catalog_indexer_add(HvCatalogIndexer *ix, const char *dir);
/* Re-read every session under the roots. */
void hv_catalog_indexer_rebuild(HvCatalogIndexer *ix, char *const *roots);
/* Finish the queued work and stop. */
void hv_catalog_indexer_free(HvCatalogIndexer *ix);

G_END_DECLS
