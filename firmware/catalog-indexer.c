// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "catalog-indexer.h"
#include "catalog.h"

struct _HvCatalogIndexer {
  char        *path;
  GAsyncQueue *queue;  /* char** jobs: {"add", dir} / {"rebuild", roots...} / {"quit"} */
  GThread     *thread;
};

static void
run_job(HvCatalog *cat, char **job)
{
  g_autoptr(GError) err = NULL;
  if (g_str_equal(job[0], "add")) {
    if (!hv_catalog_add_session(cat, job[1], &err))
      g_warning("catalog: %s", err->message);
  } else {
    gint n = hv_catalog_rebuild(cat, job + 1, &err);
    if (n < 0)
      g_warning("catalog rebuild: %s", err->message);
    else
      g_message("catalog rebuilt from the vault: %d sessions", n);
  }
}

static gpointer
indexer_main(gpointer data)
{
  HvCatalogIndexer *ix = data;
  g_autoptr(GError) err = NULL;
  g_autoptr(HvCatalog) cat = hv_catalog_open(ix->path, &err);
  if (!cat)
    g_warning("catalog indexer: %s", err->message);
  for (;;) {
    char **job = g_async_queue_pop(ix->queue);
    gboolean quit = g_str_equal(job[0], "quit");
    if (!quit && cat)
      run_job(cat, job);
    g_strfreev(job);
    if (quit)
      return NULL;
  }
}

HvCatalogIndexer *
hv_catalog_indexer_new(const char *catalog_path)
{
  HvCatalogIndexer *ix = g_new0(HvCatalogIndexer, 1);
  ix->path = g_strdup(catalog_path);
  ix->queue = g_async_queue_new_full((GDestroyNotify) g_strfreev);
  ix->thread = g_thread_new("haven-catalog", indexer_main, ix);
  return ix;
}

void
hv_catalog_indexer_add(HvCatalogIndexer *ix, const char *dir)
{
  char **job = g_new0(char *, 3);
  job[0] = g_strdup("add");
  job[1] = g_strdup(dir);
  g_async_queue_push(ix->queue, job);
}

void
hv_catalog_indexer_rebuild(HvCatalogIndexer *ix, char *const *roots)
{
  guint n = roots ? g_strv_length((char **) roots) : 0;
  char **job = g_new0(char *, n + 2);
  job[0] = g_strdup("rebuild");
  for (guint i = 0; i < n; i++)
    job[i + 1] = g_strdup(roots[i]);
  g_async_queue_push(ix->queue, job);
}

void
hv_catalog_indexer_free(HvCatalogIndexer *ix)
{
  if (!ix)
    return;
  char **quit = g_new0(char *, 2);
  quit[0] = g_strdup("quit");
  g_async_queue_push(ix->queue, quit);
  g_thread_join(ix->thread);
  g_async_queue_unref(ix->queue);
  g_free(ix->path);
  g_free(ix);
}
