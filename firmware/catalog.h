/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * catalog: the SQLite index of sessions, their events, and an audit of every
 * control action. WAL, synchronous=FULL, schema version in user_version.
 * The vault files are the truth: the catalog can always be rebuilt from them,
 * and a missing or corrupt catalog never blocks recording.
 */
#pragma once

#include "vault/vault.h"

G_BEGIN_DECLS

typedef struct _HvCatalog HvCatalog;

#define HV_CATALOG_ERROR (hv_catalog_error_quark())
GQuark hv_catalog_error_quark(void);
typedef enum { HV_CATALOG_ERROR_SQLITE, HV_CATALOG_ERROR_CORRUPT } HvCatalogError;

#define HV_CATALOG_SCHEMA_VERSION 1

/* Open (creating and migrating as needed). A file that is not a healthy
 * catalog gives HV_CATALOG_ERROR_CORRUPT. */
HvCatalog *hv_catalog_open(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Open; if corrupt, move it aside (path.corrupt-TIME) and recreate it.
 * *ret_fresh says whether it is new (missing or recreated) and so needs a
 * rebuild from the vault. */
HvCatalog *hv_catalog_open_or_recreate(const char *path, gboolean *ret_fresh, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
void hv_catalog_free(HvCatalog *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCatalog, hv_catalog_free)

/* Verify the session in dir and insert or replace it with its events (the
 * vault is the truth); events are streamed into the database, not kept. */
gboolean hv_catalog_add_session(HvCatalog *c, const char *dir, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
gboolean hv_catalog_audit(HvCatalog *c, const char *actor, const char *action, const char *result,
                          GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Drop the session tables and re-read every session under the roots.
 * Returns the number of sessions indexed. */
gint hv_catalog_rebuild(HvCatalog *c, char *const *roots, GError **error);
gint64 hv_catalog_count(HvCatalog *c, const char *table);

G_END_DECLS
