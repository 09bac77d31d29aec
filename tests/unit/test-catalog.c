// SPDX-License-Identifier: GPL-2.0-or-later
#include "catalog.h"
#include "catalog-indexer.h"
#include "test-helpers.h"

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

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/catalog/rebuild", Fixture, NULL, fixture_setup, test_rebuild, fixture_teardown);
  g_test_add("/catalog/corrupt", Fixture, NULL, fixture_setup, test_corrupt, fixture_teardown);
  g_test_add("/catalog/indexer", Fixture, NULL, fixture_setup, test_indexer, fixture_teardown);
  return g_test_run();
}
