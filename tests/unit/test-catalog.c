// SPDX-License-Identifier: GPL-2.0-or-later
#include "catalog.h"
#include "catalog-indexer.h"
#include "test-helpers.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

static void
test_rebuild(Fixture *f, gconstpointer data)
{
  g_autofree char *root = g_build_filename(f->dir, "root", NULL);
  g_mkdir(root, 0700);
  g_free(fixture_session(f, "root/s1", 1000, TRUE)); /* made for its files; the path is not needed */
  g_autofree char *db = g_build_filename(f->dir, "catalog.db", NULL);
  char *roots[] = { root, NULL };
  g_autoptr(GError) err = NULL;
  gboolean fresh = FALSE;
  g_autoptr(HvCatalog) c = hv_catalog_open_or_recreate(db, &fresh, &err);
  g_assert_no_error(err);
  g_assert_true(fresh);
  g_assert_cmpint(hv_catalog_rebuild(c, roots, &err), ==, 1);
  g_assert_cmpint(hv_catalog_count(c, "sessions"), ==, 1);
  g_assert_cmpint(hv_catalog_count(c, "events"), ==, 2);
  g_assert_true(hv_catalog_audit(c, "tester", "start", "ok", &err));
  g_assert_cmpint(hv_catalog_count(c, "audit"), ==, 1);
  g_assert_cmpint(hv_catalog_rebuild(c, roots, &err), ==, 1);
  g_assert_cmpint(hv_catalog_count(c, "sessions"), ==, 1);
}

static void
test_corrupt(Fixture *f, gconstpointer data)
{
  g_autofree char *db = g_build_filename(f->dir, "catalog.db", NULL);
  g_assert_true(g_file_set_contents(db, "garbage garbage garbage garbage garbage garbage garbage", -1, NULL));
  g_autoptr(GError) err = NULL;
  g_autoptr(HvCatalog) bad = hv_catalog_open(db, &err);
  g_assert_null(bad);
  g_assert_error(err, HV_CATALOG_ERROR, HV_CATALOG_ERROR_CORRUPT);
  g_clear_error(&err);
  gboolean fresh = FALSE;
  g_test_expect_message("havend", G_LOG_LEVEL_WARNING, "*not a database*moving it to*rebuilding*");
  g_autoptr(HvCatalog) c = hv_catalog_open_or_recreate(db, &fresh, &err);
  g_test_assert_expected_messages();
  g_assert_no_error(err);
  g_assert_true(fresh);
  g_assert_cmpint(hv_catalog_count(c, "sessions"), ==, 0);
}

/* The indexer does its jobs in the order queued, on copies of its arguments:
 * a session added after a rebuild is kept (it lies outside the roots, so a
 * rebuild done second would drop it), and freeing the indexer finishes the
 * queued work first. */
static void
test_indexer(Fixture *f, gconstpointer data)
{
  g_autofree char *root = g_build_filename(f->dir, "root", NULL);
  g_mkdir(root, 0700);
  g_free(fixture_session(f, "root/s1", 1000, TRUE));
  g_autofree char *outside = fixture_session(f, "s2", 2000, TRUE);
  g_autofree char *db = g_build_filename(f->dir, "catalog.db", NULL);
  HvCatalogIndexer *ix = hv_catalog_indexer_new(db);
  {
    char *roots[] = { g_strdup(root), NULL };
    hv_catalog_indexer_rebuild(ix, roots);
    g_free(roots[0]);
    g_autofree char *dir = g_strdup(outside);
    hv_catalog_indexer_add(ix, dir);
  }
  g_test_expect_message("havend", G_LOG_LEVEL_MESSAGE, "catalog rebuilt from the vault: 1 sessions");
  hv_catalog_indexer_free(ix);
  g_test_assert_expected_messages();
  g_autoptr(GError) err = NULL;
  g_autoptr(HvCatalog) c = hv_catalog_open(db, &err);
  g_assert_no_error(err);
  g_assert_cmpint(hv_catalog_count(c, "sessions"), ==, 2);
  g_assert_cmpint(hv_catalog_count(c, "events"), ==, 4);
}

/* A catalog written by a havend of schema 1 (before the custodian's columns):
 * read as it is, read-only, then migrated in place with its rows kept. */
static void
test_migrate_v1(Fixture *f, gconstpointer data)
{
  g_autofree char *db = g_build_filename(f->dir, "v1.db", NULL);
  sqlite3 *raw = NULL;
  g_assert_cmpint(sqlite3_open(db, &raw), ==, SQLITE_OK);
  g_assert_cmpint(sqlite3_exec(raw,
      "CREATE TABLE sessions (session_id TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL,"
      " dir TEXT NOT NULL, room TEXT, started_us INTEGER, ended_us INTEGER, status TEXT NOT NULL,"
      " fingerprint TEXT, problem TEXT, records INTEGER, markers INTEGER, media_bytes INTEGER,"
      " PRIMARY KEY (session_id, dir));"
      "CREATE INDEX sessions_seq ON sessions(device, seq);"
      "CREATE TABLE events (session_id TEXT NOT NULL, idx INTEGER NOT NULL, type TEXT NOT NULL,"
      " wall_us INTEGER, text TEXT, PRIMARY KEY (session_id, idx));"
      "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, wall_us INTEGER NOT NULL,"
      " actor TEXT NOT NULL, action TEXT NOT NULL, result TEXT NOT NULL);"
      "INSERT INTO sessions VALUES ('00ff', 'abcd', 7, '/s7', 'Room A', 1000000, 61000000, 'COMPLETE',"
      " 'AAAA-BBBB-CCCC-DDDD-EEEE', NULL, 10, 1, 500);"
      "INSERT INTO audit(wall_us, actor, action, result) VALUES (5000000, 'alice', 'start', 'done');"
      "PRAGMA user_version=1;", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close(raw);

  g_autoptr(GError) err = NULL;
  {
    g_autoptr(HvCatalog) ro = hv_catalog_open_readonly(db, &err);
    g_assert_no_error(err);
    g_assert_cmpint(hv_catalog_schema_version(ro), ==, 1);   /* read-only: not migrated */
    g_autoptr(GPtrArray) rows = hv_catalog_list(ro, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(rows->len, ==, 1);
    HvCatalogSession *s = rows->pdata[0];
    g_assert_cmpstr(s->room, ==, "Room A");
    g_assert_cmpint(s->duration_us, ==, -1);
    g_assert_cmpint(s->offloaded_us, ==, 0);
  }
  g_autoptr(HvCatalog) c = hv_catalog_open(db, &err);
  g_assert_no_error(err);
  g_assert_cmpint(hv_catalog_schema_version(c), ==, HV_CATALOG_SCHEMA_VERSION);
  g_autoptr(GPtrArray) rows = hv_catalog_list(c, NULL, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(rows->len, ==, 1);
  g_assert_cmpuint(((HvCatalogSession *) rows->pdata[0])->seq, ==, 7);
  g_autoptr(GPtrArray) audit = hv_catalog_audit_list(c, 0, 0, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(audit->len, ==, 1);
  g_assert_cmpstr(((HvCatalogAuditEntry *) audit->pdata[0])->actor, ==, "alice");
}

/* Reading never creates a catalog, nor writes to one. */
static void
test_readonly(Fixture *f, gconstpointer data)
{
  g_autofree char *db = g_build_filename(f->dir, "none.db", NULL);
  g_autoptr(GError) err = NULL;
  g_autoptr(HvCatalog) none = hv_catalog_open_readonly(db, &err);
  g_assert_null(none);
  g_assert_error(err, HV_CATALOG_ERROR, HV_CATALOG_ERROR_SQLITE);
  g_assert_false(g_file_test(db, G_FILE_TEST_EXISTS));
  g_clear_error(&err);
  {
    g_autoptr(HvCatalog) w = hv_catalog_open(db, &err);
    g_assert_no_error(err);
    g_assert_true(hv_catalog_audit(w, "bob", "stop", "done", &err));
  }
  g_autoptr(HvCatalog) ro = hv_catalog_open_readonly(db, &err);
  g_assert_no_error(err);
  g_assert_false(hv_catalog_audit(ro, "mallory", "start", "done", &err));
  g_assert_error(err, HV_CATALOG_ERROR, HV_CATALOG_ERROR_SQLITE);
}

/* Filters, audit bounds, and an archive indexed incrementally. */
static void
test_query_index(Fixture *f, gconstpointer data)
{
  g_autofree char *arch = g_build_filename(f->dir, "arch", NULL);
  g_mkdir(arch, 0700);
  g_autofree char *s1 = fixture_session(f, "arch/s1", 1000, TRUE);
  g_free(fixture_session(f, "arch/s2", 2000, FALSE));   /* unsealed: OPEN */
  g_autofree char *db = g_build_filename(f->dir, "arch.db", NULL);
  g_autoptr(GError) err = NULL;
  g_autoptr(HvCatalog) c = hv_catalog_open(db, &err);
  g_assert_no_error(err);
  HvCatalogIndexStats st;
  g_assert_true(hv_catalog_index(c, arch, &st, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(st.added, ==, 2);
  g_assert_true(hv_catalog_index(c, arch, &st, &err));
  g_assert_cmpuint(st.added, ==, 0);
  g_assert_cmpuint(st.unchanged, ==, 2);

  HvCatalogFilter open = { .status = "open" };
  g_autoptr(GPtrArray) rows = hv_catalog_list(c, &open, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(rows->len, ==, 1);
  HvCatalogSession *s = rows->pdata[0];
  g_assert_true(g_str_has_suffix(s->dir, "/arch/s2"));
  g_assert_cmpint(s->offloaded_us, >, 0);
  g_autoptr(GPtrArray) all = hv_catalog_list(c, NULL, &err);
  g_assert_cmpuint(all->len, ==, 2);
  HvCatalogSession *first = all->pdata[0];
  HvCatalogFilter since = { .since_us = first->started_us + 1 };
  g_autoptr(GPtrArray) later = hv_catalog_list(c, &since, &err);
  g_assert_cmpuint(later->len, ==, all->len - 1);
  HvCatalogFilter until = { .until_us = first->started_us + 1 };
  g_autoptr(GPtrArray) earlier = hv_catalog_list(c, &until, &err);
  g_assert_cmpuint(earlier->len, ==, 1);
  HvCatalogFilter dev = { .device = "zz" };
  g_autoptr(GPtrArray) nodev = hv_catalog_list(c, &dev, &err);
  g_assert_cmpuint(nodev->len, ==, 0);
  g_autofree char *prefix = g_strndup(first->session_id, 6);
  HvCatalogFilter sid = { .session = prefix };
  g_autoptr(GPtrArray) one = hv_catalog_list(c, &sid, &err);
  g_assert_cmpuint(one->len, ==, 1);
  g_autoptr(GPtrArray) ev = hv_catalog_events(c, first->session_id, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(ev->len, >=, 1);

  /* a session gone from the archive is dropped, with its events */
  g_autofree char *gone = g_build_filename(f->dir, "s1-moved", NULL);
  g_assert_cmpint(g_rename(s1, gone), ==, 0);
  g_assert_true(hv_catalog_index(c, arch, &st, &err));
  g_assert_cmpuint(st.removed, ==, 1);
  g_assert_cmpuint(st.unchanged, ==, 1);
  g_assert_cmpint(hv_catalog_count(c, "sessions"), ==, 1);

  g_assert_true(hv_catalog_audit(c, "carol", "mark", "done", &err));
  gint64 now = g_get_real_time();
  g_autoptr(GPtrArray) a1 = hv_catalog_audit_list(c, now - 60 * G_USEC_PER_SEC, 0, &err);
  g_assert_cmpuint(a1->len, ==, 1);
  g_autoptr(GPtrArray) a2 = hv_catalog_audit_list(c, 0, now - 60 * G_USEC_PER_SEC, &err);
  g_assert_cmpuint(a2->len, ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/catalog/rebuild", Fixture, NULL, fixture_setup, test_rebuild, fixture_teardown);
  g_test_add("/catalog/corrupt", Fixture, NULL, fixture_setup, test_corrupt, fixture_teardown);
  g_test_add("/catalog/indexer", Fixture, NULL, fixture_setup, test_indexer, fixture_teardown);
  g_test_add("/catalog/migrate-v1", Fixture, NULL, fixture_setup, test_migrate_v1, fixture_teardown);
  g_test_add("/catalog/readonly", Fixture, NULL, fixture_setup, test_readonly, fixture_teardown);
  g_test_add("/catalog/query-index", Fixture, NULL, fixture_setup, test_query_index, fixture_teardown);
  return g_test_run();
}
