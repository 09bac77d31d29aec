// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-vault"
#include "vault-verify-many.h"

#include <sys/stat.h>

/* A records file this large keeps the reader's workers busy on its own
 * (several of its 1 MiB blocks in flight); smaller sessions are verified
 * side by side instead. */
#define LARGE_SESSION (8u << 20)
#define THREADS_MAX   8u

typedef struct {
  const char     *dir;
  HvVerifyOptions opts;
  HvVerdict      *verdict;
  GError         *error;
  gboolean        done;     /* under Shared.lock */
} Job;

typedef struct {
  GMutex lock;
  GCond  cond;
} Shared;

static void
verify_job(gpointer data, gpointer user_data)
{
  Job *job = data;
  Shared *sh = user_data;
  GError *err = NULL;
  HvVerdict *v = hv_vault_verify(job->dir, &job->opts, &err);
  g_mutex_lock(&sh->lock);
  job->verdict = v;
  job->error = err;
  job->done = TRUE;
  g_cond_broadcast(&sh->cond);
  g_mutex_unlock(&sh->lock);
}

static gboolean
is_large(const char *dir)
{
  g_autofree char *p = g_build_filename(dir, HV_FILE_RECORDS, NULL);
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= LARGE_SESSION;
}

gboolean
hv_vault_verify_many(char *const *dirs, guint n_dirs, const HvVerifyOptions *opts,
                     const guint8 *const *expected_pks, HvSessionFunc on_start, HvVerdictFunc on_verdict, gpointer user_data,
                     GError **error)
{
  g_return_val_if_fail(opts && !opts->on_record, FALSE);
  guint cpus = MIN(g_get_num_processors(), THREADS_MAX);
  gboolean parallel = opts->threads == HV_VERIFY_ALL_CPUS && cpus > 1;
  Shared sh;
  g_mutex_init(&sh.lock);
  g_cond_init(&sh.cond);
  GThreadPool *pool = parallel ? g_thread_pool_new(verify_job, &sh, (gint) cpus, FALSE, NULL) : NULL;
  Job *jobs = g_new0(Job, n_dirs);
  guint window = 4 * cpus;   /* verdicts waiting for their turn: a few small structs each */
  guint emitted = 0, submitted = 0;
  gboolean ok = TRUE;

  while (ok && emitted < n_dirs) {
    while (submitted < n_dirs && submitted - emitted < window) {
      Job *job = &jobs[submitted];
      job->dir = dirs[submitted];
      job->opts = *opts;
      if (expected_pks && expected_pks[submitted])
        job->opts.expected_device_pk = expected_pks[submitted];
      if (!pool || n_dirs == 1 || is_large(job->dir)) {   /* a lone session: with progress */
        if (submitted != emitted)
          break;   /* in order: a large session waits for the small ones before it */
        if (on_start)
          on_start(job->dir, user_data);
        verify_job(job, &sh);   /* here, with the reader's workers */
      } else {
        job->opts.threads = 0;
        job->opts.on_progress = NULL;
        g_thread_pool_push(pool, job, NULL);
      }
      submitted++;
    }
    Job *job = &jobs[emitted];
    g_mutex_lock(&sh.lock);
    while (!job->done)
      g_cond_wait(&sh.cond, &sh.lock);
    g_mutex_unlock(&sh.lock);
    if (!job->verdict) {
      g_propagate_error(error, g_steal_pointer(&job->error));
      ok = FALSE;
      break;
    }
    on_verdict(g_steal_pointer(&job->verdict), user_data);
    emitted++;
  }
  if (pool)
    g_thread_pool_free(pool, FALSE, TRUE);   /* finishes the sessions already given to it */
  for (guint i = 0; i < n_dirs; i++) {
    hv_verdict_free(jobs[i].verdict);
    g_clear_error(&jobs[i].error);
  }
  g_free(jobs);
  g_mutex_clear(&sh.lock);
  g_cond_clear(&sh.cond);
  return ok;
}
