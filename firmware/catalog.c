// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "catalog.h"
#include "vault/vault.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
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
  /* version 2: what the custodian's queries show (haven catalog list): the
   * duration as the session measured it, when a custodian's archive first
   * held the session (offloaded from the board) and when it was last
   * exported, and the file stamp that lets `haven catalog index` skip
   * sessions it has already read. Version 1 rows keep NULL there. */
  "ALTER TABLE sessions ADD COLUMN duration_us INTEGER;"
  "ALTER TABLE sessions ADD COLUMN offloaded_us INTEGER;"
  "ALTER TABLE sessions ADD COLUMN exported_us INTEGER;"
  "ALTER TABLE sessions ADD COLUMN stamp TEXT;"
  "CREATE INDEX sessions_started ON sessions(started_us);"
  "CREATE INDEX audit_time ON audit(wall_us);",
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
put_session_row(HvCatalog *c, const HvVerdict *v, const char *sid, gint64 offloaded_us, const char *stamp)
{
  g_autofree char *dev = hv_key_id(v->header.device_pk, HV_DEVICE_PK_SIZE);
  const char *status = v->intact ? hv_status_name(v->seal.status)
                                 : v->problem_code == HV_VAULT_ERROR_UNSEALED ? "OPEN" : "INVALID";
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(c->db,
      "INSERT OR REPLACE INTO sessions(session_id, device, seq, dir, room, started_us, ended_us, status,"
      " fingerprint, problem, records, markers, media_bytes, duration_us, offloaded_us, exported_us, stamp)"
      " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
      " COALESCE((SELECT offloaded_us FROM sessions WHERE session_id = ?1 AND dir = ?4), ?15),"
      " (SELECT exported_us FROM sessions WHERE session_id = ?1 AND dir = ?4), ?16)", -1, &st, NULL);
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
    if (v->have_header && v->records > 0)
      sqlite3_bind_int64(st, 14, (sqlite3_int64) (v->last_mono_us - v->first_mono_us));
    if (offloaded_us)
      sqlite3_bind_int64(st, 15, offloaded_us);
    if (stamp)
      bind_text(st, 16, stamp);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(c->db);
  }
  sqlite3_finalize(st);
  return rc;
}

static gboolean
add_session(HvCatalog *c, const char *dir, gint64 offloaded_us, const char *stamp, gboolean *stored,
            GError **error)
{
  HvHeader h;
  if (!hv_vault_read_header(dir, NULL, &h, NULL))
    return TRUE;  /* nothing to index without a header */
  if (stored)
    *stored = TRUE;
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
    rc = put_session_row(c, v, sid, offloaded_us, stamp);
  if (rc != SQLITE_OK) {
    sql_error(c, rc, "storing a session", error);
    (void) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return FALSE;
  }
  return exec(c, "COMMIT", error);
}

gboolean
hv_catalog_add_session(HvCatalog *c, const char *dir, GError **error)
{
  return add_session(c, dir, 0, NULL, NULL, error);
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

HvCatalog *
hv_catalog_open_readonly(const char *path, GError **error)
{
  g_autoptr(HvCatalog) c = g_new0(HvCatalog, 1);
  c->path = g_strdup(path);
  if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error(error, HV_CATALOG_ERROR, HV_CATALOG_ERROR_SQLITE,
                "catalog %s: no such file (havend creates it on the board; for an archive of your own, "
                "build one with 'haven catalog index DIR --catalog FILE')", path);
    return NULL;
  }
  int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc != SQLITE_OK) {
    sql_error(c, rc, "opening read-only", error);
    return NULL;
  }
  /* havend may be writing: wait for its transaction rather than failing */
  sqlite3_busy_timeout(c->db, 5000);
  gint v = user_version(c);
  if (v < 0)
    return sql_error(c, sqlite3_errcode(c->db), "reading the schema version", error), NULL;
  if (v == 0 || v > HV_CATALOG_SCHEMA_VERSION) {
    g_set_error(error, HV_CATALOG_ERROR, HV_CATALOG_ERROR_CORRUPT,
                v == 0 ? "catalog %s: not a haven catalog (no schema version)"
                       : "catalog %s: schema version %d is newer than this haven (%d)", path, v,
                HV_CATALOG_SCHEMA_VERSION);
    return NULL;
  }
  return g_steal_pointer(&c);
}

gint
hv_catalog_schema_version(HvCatalog *c)
{
  return user_version(c);
}

void
hv_catalog_session_free(HvCatalogSession *s)
{
  if (!s)
    return;
  g_free(s->session_id);
  g_free(s->device);
  g_free(s->dir);
  g_free(s->room);
  g_free(s->status);
  g_free(s->fingerprint);
  g_free(s->problem);
  g_free(s);
}

static char *
col_text(sqlite3_stmt *st, int i)
{
  return g_strdup((const char *) sqlite3_column_text(st, i));
}

static gint64
col_int(sqlite3_stmt *st, int i, gint64 unknown)
{
  return sqlite3_column_type(st, i) == SQLITE_NULL ? unknown : sqlite3_column_int64(st, i);
}

GPtrArray *
hv_catalog_list(HvCatalog *c, const HvCatalogFilter *f, GError **error)
{
  static const HvCatalogFilter all = { 0 };
  if (!f)
    f = &all;
  /* a version 1 catalog (not yet migrated by havend) lacks the newer columns */
  gboolean v2 = user_version(c) >= 2;
  g_autoptr(GString) sql = g_string_new(NULL);
  g_string_printf(sql, "SELECT session_id, device, seq, dir, room, started_us, ended_us, status, fingerprint,"
                       " problem, records, markers, media_bytes, %s FROM sessions WHERE 1",
                  v2 ? "duration_us, offloaded_us, exported_us" : "NULL, NULL, NULL");
  if (f->device)
    g_string_append(sql, " AND substr(device, 1, length(:device)) = :device");
  if (f->room)
    g_string_append(sql, " AND instr(lower(room), lower(:room)) > 0");
  if (f->status)
    g_string_append(sql, " AND status = upper(:status)");
  if (f->session)
    g_string_append(sql, " AND substr(session_id, 1, length(lower(:sid))) = lower(:sid)");
  if (f->seq)
    g_string_append(sql, " AND seq = :seq");
  if (f->since_us)
    g_string_append(sql, " AND started_us >= :since");
  if (f->until_us)
    g_string_append(sql, " AND started_us < :until");
  g_string_append(sql, " ORDER BY started_us, device, seq, dir");
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(c->db, sql->str, -1, &st, NULL);
  if (rc != SQLITE_OK)
    return sql_error(c, rc, "listing sessions", error), NULL;
  bind_text(st, sqlite3_bind_parameter_index(st, ":device"), f->device);
  bind_text(st, sqlite3_bind_parameter_index(st, ":room"), f->room);
  bind_text(st, sqlite3_bind_parameter_index(st, ":status"), f->status);
  bind_text(st, sqlite3_bind_parameter_index(st, ":sid"), f->session);
  sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":seq"), f->seq);
  sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":since"), f->since_us);
  sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":until"), f->until_us);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) hv_catalog_session_free);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    HvCatalogSession *s = g_new0(HvCatalogSession, 1);
    s->session_id = col_text(st, 0);
    s->device = col_text(st, 1);
    s->seq = (guint64) sqlite3_column_int64(st, 2);
    s->dir = col_text(st, 3);
    s->room = col_text(st, 4);
    s->started_us = col_int(st, 5, 0);
    s->ended_us = col_int(st, 6, 0);
    s->status = col_text(st, 7);
    s->fingerprint = col_text(st, 8);
    s->problem = col_text(st, 9);
    s->records = (guint64) col_int(st, 10, 0);
    s->markers = (guint64) col_int(st, 11, 0);
    s->media_bytes = (guint64) col_int(st, 12, 0);
    s->duration_us = col_int(st, 13, -1);
    s->offloaded_us = col_int(st, 14, 0);
    s->exported_us = col_int(st, 15, 0);
    g_ptr_array_add(out, s);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return sql_error(c, rc, "listing sessions", error), NULL;
  return g_steal_pointer(&out);
}

static void
event_free(gpointer p)
{
  HvCatalogEvent *e = p;
  g_free(e->type);
  g_free(e->text);
  g_free(e);
}

GPtrArray *
hv_catalog_events(HvCatalog *c, const char *session_id, GError **error)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(c->db, "SELECT idx, type, wall_us, text FROM events WHERE session_id = ? "
                              "ORDER BY idx", -1, &st, NULL);
  if (rc != SQLITE_OK)
    return sql_error(c, rc, "reading events", error), NULL;
  bind_text(st, 1, session_id);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(event_free);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    HvCatalogEvent *e = g_new0(HvCatalogEvent, 1);
    e->idx = (guint64) sqlite3_column_int64(st, 0);
    e->type = col_text(st, 1);
    e->wall_us = col_int(st, 2, 0);
    e->text = col_text(st, 3);
    g_ptr_array_add(out, e);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return sql_error(c, rc, "reading events", error), NULL;
  return g_steal_pointer(&out);
}

static void
audit_entry_free(gpointer p)
{
  HvCatalogAuditEntry *a = p;
  g_free(a->actor);
  g_free(a->action);
  g_free(a->result);
  g_free(a);
}

GPtrArray *
hv_catalog_audit_list(HvCatalog *c, gint64 since_us, gint64 until_us, GError **error)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(c->db, "SELECT id, wall_us, actor, action, result FROM audit WHERE wall_us >= ?1"
                              " AND (?2 = 0 OR wall_us < ?2) ORDER BY wall_us, id", -1, &st, NULL);
  if (rc != SQLITE_OK)
    return sql_error(c, rc, "reading the audit", error), NULL;
  sqlite3_bind_int64(st, 1, since_us);
  sqlite3_bind_int64(st, 2, until_us);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(audit_entry_free);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    HvCatalogAuditEntry *a = g_new0(HvCatalogAuditEntry, 1);
    a->id = sqlite3_column_int64(st, 0);
    a->wall_us = sqlite3_column_int64(st, 1);
    a->actor = col_text(st, 2);
    a->action = col_text(st, 3);
    a->result = col_text(st, 4);
    g_ptr_array_add(out, a);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return sql_error(c, rc, "reading the audit", error), NULL;
  return g_steal_pointer(&out);
}

/* Size and modification time (ns) of each of the session's files: any write
 * to them (recovery sealing it, a copy finishing, tampering) changes it. */
static char *
session_stamp(const char *dir)
{
  static const char *const files[] = { "header.hvh", "records.hvr", "index.hvi", "seal.hvs" };
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *p = g_build_filename(dir, files[i], NULL);
    struct stat sb;
    if (stat(p, &sb) == 0)
      g_string_append_printf(s, "%s:%jd:%jd.%09ld;", files[i], (intmax_t) sb.st_size,
                             (intmax_t) sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
    else
      g_string_append_printf(s, "%s:-;", files[i]);
  }
  return g_string_free(s, FALSE);
}

/* Remove the rows of dir (and the events no other row needs). */
static gboolean
forget_dir(HvCatalog *c, const char *dir, GError **error)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(c->db, "DELETE FROM sessions WHERE dir = ?1", -1, &st, NULL);
  if (rc == SQLITE_OK) {
    bind_text(st, 1, dir);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(c->db);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK)
    return sql_error(c, rc, "removing a session", error);
  return exec(c, "DELETE FROM events WHERE session_id NOT IN (SELECT session_id FROM sessions)", error);
}

gboolean
hv_catalog_index(HvCatalog *c, const char *dir, HvCatalogIndexStats *stats, GError **error)
{
  memset(stats, 0, sizeof *stats);
  g_autofree char *root = g_canonicalize_filename(dir, NULL);
  g_autoptr(GPtrArray) dirs = hv_vault_find_sessions(root, error);
  if (!dirs)
    return FALSE;
  g_autoptr(GHashTable) present = g_hash_table_new(g_str_hash, g_str_equal);
  gint64 now = g_get_real_time();
  for (guint i = 0; i < dirs->len; i++) {
    const char *d = dirs->pdata[i];
    g_hash_table_add(present, (gpointer) d);
    g_autofree char *stamp = session_stamp(d);
    sqlite3_stmt *st = NULL;
    g_autofree char *old_stamp = NULL;
    gint64 offloaded = 0;
    gboolean known = FALSE;
    int rc = sqlite3_prepare_v2(c->db, "SELECT stamp, offloaded_us FROM sessions WHERE dir = ?", -1, &st, NULL);
    if (rc == SQLITE_OK) {
      bind_text(st, 1, d);
      if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        known = TRUE;
        old_stamp = col_text(st, 0);
        offloaded = col_int(st, 1, 0);
        rc = SQLITE_OK;
      } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
      }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
      return sql_error(c, rc, "reading the index", error);
    if (known && g_strcmp0(old_stamp, stamp) == 0) {
      stats->unchanged++;
      continue;
    }
    if (known && !forget_dir(c, d, error))
      return FALSE;
    gboolean stored = FALSE;
    if (!add_session(c, d, offloaded ? offloaded : now, stamp, &stored, error))
      return FALSE;
    if (!stored)
      stats->unreadable++;
    else if (known)
      stats->updated++;
    else
      stats->added++;
  }
  /* sessions indexed under this directory before that are no longer there */
  g_autofree char *prefix = g_str_has_suffix(root, "/") ? g_strdup(root) : g_strconcat(root, "/", NULL);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(c->db, "SELECT DISTINCT dir FROM sessions WHERE dir = ?1 OR "
                              "substr(dir, 1, length(?2)) = ?2", -1, &st, NULL);
  if (rc == SQLITE_OK) {
    bind_text(st, 1, root);
    bind_text(st, 2, prefix);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const char *d = (const char *) sqlite3_column_text(st, 0);
      if (!g_hash_table_contains(present, d))
        g_ptr_array_add(gone, g_strdup(d));
    }
    rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK)
    return sql_error(c, rc, "reading the index", error);
  for (guint i = 0; i < gone->len; i++) {
    if (!forget_dir(c, gone->pdata[i], error))
      return FALSE;
    stats->removed++;
  }
  return TRUE;
}

gboolean
hv_catalog_set_exported(HvCatalog *c, const char *dir, gint64 exported_us, GError **error)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(c->db, "UPDATE sessions SET exported_us = ?1 WHERE dir = ?2", -1, &st, NULL);
  if (rc == SQLITE_OK) {
    if (exported_us > 0)
      sqlite3_bind_int64(st, 1, exported_us);
    else
      sqlite3_bind_null(st, 1);
    bind_text(st, 2, dir);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK)
    return sql_error(c, rc, "recording an export", error);
  return TRUE;
}
