// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "catalog.h"
#include "vault/vault.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

G_DEFINE_QUARK(hv-catalog-error-quark, hv_catalog_error)

struct _HvCatalog {
  sqlite3 *db;
  char    *path;
};

static const char *migrations[] = {
  /* version 1 */
  "CREATE TABLE sessions ("
  "  session_id TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL, dir TEXT NOT NULL,"
  "  room TEXT, started_us INTEGER, ended_us INTEGER, status TEXT NOT NULL, fingerprint TEXT,"
  "  problem TEXT, records INTEGER, markers INTEGER, media_bytes INTEGER,"
  "  PRIMARY KEY (session_id, dir));"
  "CREATE INDEX sessions_seq ON sessions(device, seq);"
  "CREATE TABLE events ("
  "  session_id TEXT NOT NULL,"
  "  idx INTEGER NOT NULL, type TEXT NOT NULL, wall_us INTEGER, text TEXT,"
  "  PRIMARY KEY (session_id, idx));"
  "CREATE TABLE audit ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT, wall_us INTEGER NOT NULL, actor TEXT NOT NULL,"
  "  action TEXT NOT NULL, result TEXT NOT NULL);",
};

static gboolean
sql_error(HvCatalog *c, int rc, const char *what, GError **error)
{
  gint code = rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? HV_CATALOG_ERROR_CORRUPT : HV_CATALOG_ERROR_SQLITE;
  g_set_error(error, HV_CATALOG_ERROR, code, "catalog %s: %s: %s", c->path, what,
              c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
  return FALSE;
}

static gboolean
exec(HvCatalog *c, const char *sql, GError **error)
{
  char *msg = NULL;
  int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    gint code = rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? HV_CATALOG_ERROR_CORRUPT : HV_CATALOG_ERROR_SQLITE;
    g_set_error(error, HV_CATALOG_ERROR, code, "catalog %s: %s", c->path, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return FALSE;
  }
  return TRUE;
}

static gint
user_version(HvCatalog *c)
{
  sqlite3_stmt *st = NULL;
  gint v = -1;
  if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

static gboolean
migrate(HvCatalog *c, GError **error)
{
  gint v = user_version(c);
  if (v < 0)
    return sql_error(c, sqlite3_errcode(c->db), "reading the schema version", error);
  if (v > (gint) G_N_ELEMENTS(migrations)) {
    g_set_error(error, HV_CATALOG_ERROR, HV_CATALOG_ERROR_CORRUPT,
                "catalog %s: schema version %d is newer than this havend (%u)", c->path, v,
                (guint) G_N_ELEMENTS(migrations));
    return FALSE;
  }
  for (guint i = (guint) v; i < G_N_ELEMENTS(migrations); i++) {
    g_autofree char *sql = g_strdup_printf("BEGIN; %s PRAGMA user_version=%u; COMMIT;", migrations[i], i + 1);
    if (!exec(c, sql, error)) {
      (void) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  }
  return TRUE;
}

void
hv_catalog_free(HvCatalog *c)
{
  if (!c)
    return;
  sqlite3_close(c->db);
  g_free(c->path);
  g_free(c);
}

HvCatalog *
hv_catalog_open(const char *path, GError **error)
{
  g_autoptr(HvCatalog) c = g_new0(HvCatalog, 1);
  c->path = g_strdup(path);
  int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc != SQLITE_OK) {
    sql_error(c, rc, "opening", error);
    return NULL;
  }
  sqlite3_busy_timeout(c->db, 2000);
  if (!exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", error))
    return NULL;
  sqlite3_stmt *st = NULL;
  gboolean ok = sqlite3_prepare_v2(c->db, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK &&
                sqlite3_step(st) == SQLITE_ROW &&
                g_strcmp0((const char *) sqlite3_column_text(st, 0), "ok") == 0;
  sqlite3_finalize(st);
  if (!ok) {
    g_set_error(error, HV_CATALOG_ERROR, HV_CATALOG_ERROR_CORRUPT, "catalog %s: integrity check failed", path);
    return NULL;
  }
  if (!migrate(c, error))
    return NULL;
  return g_steal_pointer(&c);
}

HvCatalog *
hv_catalog_open_or_recreate(const char *path, gboolean *ret_fresh, GError **error)
{
  g_autoptr(GError) err = NULL;
  gboolean existed = g_file_test(path, G_FILE_TEST_EXISTS);
  HvCatalog *c = hv_catalog_open(path, &err);
  if (!c && g_error_matches(err, HV_CATALOG_ERROR, HV_CATALOG_ERROR_CORRUPT)) {
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");
    g_autofree char *aside = g_strdup_printf("%s.corrupt-%s", path, stamp);
    g_warning("%s; moving it to %s and rebuilding it from the vault", err->message, aside);
    (void) g_rename(path, aside);
    g_autofree char *wal = g_strdup_printf("%s-wal", path), *shm = g_strdup_printf("%s-shm", path);
    (void) g_unlink(wal);
    (void) g_unlink(shm);
    g_clear_error(&err);
    existed = FALSE;
    c = hv_catalog_open(path, &err);
  }
  if (!c) {
    g_propagate_error(error, g_steal_pointer(&err));
    return NULL;
  }
  *ret_fresh = !existed;
  return c;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
  sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

typedef struct {
  HvCatalog    *c;
  sqlite3_stmt *st;
  char         *sid;
  int           rc;
} EventSink;

/* Stores each event as the verifier streams it: nothing is kept in memory. */
static gboolean
store_event(const HvRecordHeader *rh, const guint8 *payload, gpointer user_data, GError **error)
{
  EventSink *k = user_data;
  if (rh->type == HV_RECORD_MEDIA || k->rc != SQLITE_OK)
    return TRUE;
  g_autofree char *text = hv_text_escape((const char *) payload, rh->length);
  sqlite3_reset(k->st);
  bind_text(k->st, 1, k->sid);
  sqlite3_bind_int64(k->st, 2, (sqlite3_int64) rh->index);
  bind_text(k->st, 3, hv_record_type_name(rh->type));
  sqlite3_bind_int64(k->st, 4, rh->wall_us);
  bind_text(k->st, 5, text);
  k->rc = sqlite3_step(k->st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(k->c->db);
  return TRUE;
}

static int
put_session_row(HvCatalog *c, const HvVerdict *v, const char *sid)
{
  g_autofree char *dev = hv_key_id(v->header.device_pk, HV_DEVICE_PK_SIZE);
  const char *status = v->intact ? hv_status_name(v->seal.status)
                                 : v->problem_code == HV_VAULT_ERROR_UNSEALED ? "OPEN" : "INVALID";
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(c->db,
      "INSERT OR REPLACE INTO sessions(session_id, device, seq, dir, room, started_us, ended_us, status,"
      " fingerprint, problem, records, markers, media_bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL);
  if (rc == SQLITE_OK) {
    bind_text(st, 1, sid);
    bind_text(st, 2, dev);
    sqlite3_bind_int64(st, 3, (sqlite3_int64) v->header.device_seq);
    bind_text(st, 4, v->dir);
    bind_text(st, 5, v->header.room);
    sqlite3_bind_int64(st, 6, v->first_wall_us);
    sqlite3_bind_int64(st, 7, v->last_wall_us);
    bind_text(st, 8, status);
    bind_text(st, 9, v->fingerprint);
    bind_text(st, 10, v->problem);
    sqlite3_bind_int64(st, 11, (sqlite3_int64) v->records);
    sqlite3_bind_int64(st, 12, (sqlite3_int64) v->markers);
    sqlite3_bind_int64(st, 13, (sqlite3_int64) v->media_bytes);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(c->db);
  }
  sqlite3_finalize(st);
  return rc;
}

gboolean
hv_catalog_add_session(HvCatalog *c, const char *dir, GError **error)
{
  HvHeader h;
  if (!hv_vault_read_header(dir, NULL, &h, NULL))
    return TRUE;  /* nothing to index without a header */
  g_autofree char *sid = hv_hex(h.session_id, HV_SESSION_ID_SIZE);
  if (!exec(c, "BEGIN", error))
    return FALSE;
  EventSink sink = { .c = c, .sid = sid };
  sink.rc = sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO events(session_id, idx, type, wall_us, text) "
                               "VALUES (?,?,?,?,?)", -1, &sink.st, NULL);
  HvVerifyOptions vo = { .on_record = store_event, .user_data = &sink };
  g_autoptr(HvVerdict) v = hv_vault_verify(dir, &vo, NULL);
  sqlite3_finalize(sink.st);
  int rc = sink.rc;
  if (rc == SQLITE_OK && v && v->have_header)
    rc = put_session_row(c, v, sid);
  if (rc != SQLITE_OK) {
    sql_error(c, rc, "storing a session", error);
    (void) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return FALSE;
  }
  return exec(c, "COMMIT", error);
}

gboolean
hv_catalog_audit(HvCatalog *c, const char *actor, const char *action, const char *result, GError **error)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(c->db, "INSERT INTO audit(wall_us, actor, action, result) VALUES (?,?,?,?)",
                              -1, &st, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, g_get_real_time());
    bind_text(st, 2, actor);
    bind_text(st, 3, action);
    bind_text(st, 4, result);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(c->db);
  }
  sqlite3_finalize(st);
  return rc == SQLITE_OK || sql_error(c, rc, "writing the audit", error);
}

gint
hv_catalog_rebuild(HvCatalog *c, char *const *roots, GError **error)
{
  if (!exec(c, "DELETE FROM events; DELETE FROM sessions;", error))
    return -1;
  gint n = 0;
  for (guint r = 0; roots && roots[r]; r++) {
    g_autoptr(GPtrArray) dirs = hv_vault_find_sessions(roots[r], NULL);
    for (guint i = 0; dirs && i < dirs->len; i++) {
      if (hv_catalog_add_session(c, dirs->pdata[i], error))
        n++;
      else if (error && *error)
        return -1;
    }
  }
  return n;
}

gint64
hv_catalog_count(HvCatalog *c, const char *table)
{
  g_autofree char *sql = g_strdup_printf("SELECT count(*) FROM %s", table);
  sqlite3_stmt *st = NULL;
  gint64 n = -1;
  if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}
