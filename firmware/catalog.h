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

#define HV_CATALOG_SCHEMA_VERSION 2

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

/* Open an existing catalog for reading only (SQLITE_OPEN_READONLY, a busy
 * timeout): never creates, migrates or locks out havend. Older schema
 * versions are read as they are (columns they lack read as unknown). */
HvCatalog *hv_catalog_open_readonly(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* The schema version of the open catalog (PRAGMA user_version). */
gint hv_catalog_schema_version(HvCatalog *c);

/* One row of the sessions table. Times are wall-clock µs, 0 when unknown;
 * duration_us is -1 when unknown. */
typedef struct {
  char   *session_id, *device, *dir, *room, *status, *fingerprint, *problem;
  guint64 seq, records, markers, media_bytes;
  gint64  started_us, ended_us, duration_us, offloaded_us, exported_us;
} HvCatalogSession;
void hv_catalog_session_free(HvCatalogSession *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCatalogSession, hv_catalog_session_free)

/* What `haven catalog list` selects; NULL / 0 means no condition. since and
 * until bound the session's start: since <= start < until. */
typedef struct {
  const char *device;       /* key id, or a prefix of it */
  const char *room;         /* a substring of the room, case-insensitive (ASCII) */
  const char *status;       /* COMPLETE, INTERRUPTED, IO_FAILED, INVALID, OPEN */
  const char *session;      /* a session id, or a prefix of it */
  gint64      seq;          /* a device sequence number; 0: any */
  gint64      since_us, until_us;
} HvCatalogFilter;

/* Sessions matching f (NULL: all), oldest start first: HvCatalogSession*. */
GPtrArray *hv_catalog_list(HvCatalog *c, const HvCatalogFilter *f, GError **error) G_GNUC_WARN_UNUSED_RESULT;

typedef struct {
  guint64 idx;
  char   *type, *text;
  gint64  wall_us;
} HvCatalogEvent;
/* The events of a session, in record order: HvCatalogEvent*. */
GPtrArray *hv_catalog_events(HvCatalog *c, const char *session_id, GError **error) G_GNUC_WARN_UNUSED_RESULT;

typedef struct {
  gint64 id, wall_us;
  char  *actor, *action, *result;
} HvCatalogAuditEntry;
/* The audit entries with since <= time < until (0: unbounded), oldest first. */
GPtrArray *hv_catalog_audit_list(HvCatalog *c, gint64 since_us, gint64 until_us, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* What one `hv_catalog_index` run did. */
typedef struct {
  guint added, updated, unchanged, removed, unreadable;
} HvCatalogIndexStats;
/* Index a custodian's archive: every session under dir is verified and stored
 * unless its files are unchanged since the last run (size and mtime of each
 * file), rows of sessions under dir that are gone are removed. The time a
 * session was first indexed is kept as its offload time. */
gboolean hv_catalog_index(HvCatalog *c, const char *dir, HvCatalogIndexStats *stats, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* Record when the session in dir was first exported (wall-clock µs; 0: never,
 * or not known from an intact custody log). */
gboolean hv_catalog_set_exported(HvCatalog *c, const char *dir, gint64 exported_us, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
