// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "catalog-indexer.h"
#include "catalog.h"

struct _HvCatalogIndexer {
  char        *path;
  GAsyncQueue *queue;  /* Job, done in the order queued */
  GThread     *thread;
};

typedef enum { JOB_ADD, JOB_REBUILD, JOB_QUIT } JobKind;

typedef struct {
  JobKind kind;
  char   *dir;     /* JOB_ADD: the session directory */
  char  **roots;   /* JOB_REBUILD: the storage roots, NULL-terminated */
} Job;

static Job *
job_new(JobKind kind)
{
  Job *job = g_new0(Job, 1);
  job->kind = kind;
  return job;
}

static void
job_free(gpointer p)
{
  Job *job = p;
  g_free(job->dir);
  g_strfreev(job->roots);
  g_free(job);
}

static void
run_job(HvCatalog *cat, const Job *job)
{
  g_autoptr(GError) err = NULL;
  switch (job->kind) {
  case JOB_ADD:
    if (!hv_catalog_add_session(cat, job->dir, &err))
      g_warning("catalog: %s", err->message);
    break;
  case JOB_REBUILD: {
    gint n = hv_catalog_rebuild(cat, job->roots, &err);
    if (n < 0)
      g_warning("catalog rebuild: %s", err->message);
    else
      g_message("catalog rebuilt from the vault: %d sessions", n);
    break;
  }
  case JOB_QUIT:
    break;
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
    Job *job = g_async_queue_pop(ix->queue);
    gboolean quit = job->kind == JOB_QUIT;
    if (cat)
      run_job(cat, job);
    job_free(job);
    if (quit)
      return NULL;
  }
}

HvCatalogIndexer *
hv_catalog_indexer_new(const char *catalog_path)
{
  HvCatalogIndexer *ix = g_new0(HvCatalogIndexer, 1);
  ix->path = g_strdup(catalog_path);
  ix->queue = g_async_queue_new_full(job_free);
  ix->thread = g_thread_new("haven-catalog", indexer_main, ix);
  return ix;
}

void
hv_catalog_indexer_add(HvCatalogIndexer *ix, const char *dir)
{
  Job *job = job_new(JOB_ADD);
  job->dir = g_strdup(dir);
  g_async_queue_push(ix->queue, job);
}

void
hv_catalog_indexer_rebuild(HvCatalogIndexer *ix, char *const *roots)
{
  Job *job = job_new(JOB_REBUILD);
  job->roots = roots ? g_strdupv((char **) roots) : g_new0(char *, 1);
  g_async_queue_push(ix->queue, job);
}

void
hv_catalog_indexer_free(HvCatalogIndexer *ix)
{
  if (!ix)
    return;
  g_async_queue_push(ix->queue, job_new(JOB_QUIT));
  g_thread_join(ix->thread);
  g_async_queue_unref(ix->queue);
  g_free(ix->path);
  g_free(ix);
}
