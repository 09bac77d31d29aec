// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * capture: stopping and releasing the GStreamer pipeline from test sources.
 * A stop at any moment of start-up must end the stream (on_eos, no fatal
 * error) and releasing must never wait for the pipeline on the caller's
 * thread; no callback may follow a release.
 */
#include "capture.h"

#include <gst/gst.h>

#define WAIT_S 30

typedef struct {
  HvRecorderConfig cfg;
  GMainLoop       *loop;
  gint             bytes;      /* atomic: on_data runs on a streaming thread */
  gint             callbacks;  /* atomic: every callback */
  gboolean         eos;
  char            *fatal;
  gboolean         timed_out;
} Fixture;

static void
cb_data(const guint8 *data, gsize len, gpointer user_data)
{
  Fixture *f = user_data;
  g_atomic_int_add(&f->bytes, (gint) len);
  g_atomic_int_inc(&f->callbacks);
}

static void
cb_source(guint index, gboolean ok, const char *why, gpointer user_data)
{
  Fixture *f = user_data;
  g_atomic_int_inc(&f->callbacks);
}

static void
cb_level(gdouble peak_db, gpointer user_data)
{
  Fixture *f = user_data;
  g_atomic_int_inc(&f->callbacks);
}

static void
cb_eos(gpointer user_data)
{
  Fixture *f = user_data;
  g_atomic_int_inc(&f->callbacks);
  f->eos = TRUE;
  g_main_loop_quit(f->loop);
}

static void
cb_fatal(const char *why, gpointer user_data)
{
  Fixture *f = user_data;
  g_atomic_int_inc(&f->callbacks);
  g_free(f->fatal);
  f->fatal = g_strdup(why);
  g_main_loop_quit(f->loop);
}

static const HvCaptureCallbacks callbacks = { cb_data, cb_source, cb_level, cb_eos, cb_fatal };

static void
fixture_setup(Fixture *f, gconstpointer data)
{
  hv_recorder_config_init(&f->cfg);
  f->cfg.width = 320;
  f->cfg.height = 240;
  f->loop = g_main_loop_new(NULL, FALSE);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
  hv_recorder_config_clear(&f->cfg);
  g_main_loop_unref(f->loop);
  g_free(f->fatal);
}

static gboolean
on_timeout(gpointer user_data)
{
  Fixture *f = user_data;
  f->timed_out = TRUE;
  g_main_loop_quit(f->loop);
  return G_SOURCE_REMOVE;
}

/* Run the main loop until a callback quits it or ms pass. */
static void
run_for(Fixture *f, guint ms)
{
  f->timed_out = FALSE;
  guint id = g_timeout_add(ms, on_timeout, f);
  g_main_loop_run(f->loop);
  if (!f->timed_out)
    g_source_remove(id);
}

static HvCapture *
started(Fixture *f)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(HvCapture) c = hv_capture_new(&f->cfg, "unit test", &callbacks, f, &err);
  g_assert_no_error(err);
  g_assert_true(hv_capture_open(c, &err));
  g_assert_no_error(err);
  g_assert_true(hv_capture_start(c, &err));
  g_assert_no_error(err);
  return g_steal_pointer(&c);
}

/* Stop after 0, 100, ... ms: the stream must end, whatever the pipeline was doing. */
static void
test_stop_during_startup(Fixture *f, gconstpointer data)
{
  guint delay_ms = GPOINTER_TO_UINT(data);
  g_autoptr(HvCapture) c = started(f);
  if (delay_ms)
    run_for(f, delay_ms);
  g_assert_null(f->fatal);
  hv_capture_stop(c);
  run_for(f, WAIT_S * 1000);
  g_assert_false(f->timed_out); /* the old EOS thread deadlocked here (or in the free below) */
  g_assert_null(f->fatal);
  g_assert_true(f->eos);
  g_assert_cmpint(g_atomic_int_get(&f->bytes), >, 0);
}

/* Releasing a running capture hands the pipeline to the control thread: the
 * devices close without the caller waiting, and no callback follows. */
static void
test_release_while_running(Fixture *f, gconstpointer data)
{
  HvCapture *c = started(f);
  for (guint i = 0; i < WAIT_S * 10 && g_atomic_int_get(&f->bytes) == 0; i++)
    run_for(f, 100);
  g_assert_cmpint(g_atomic_int_get(&f->bytes), >, 0);
  g_autoptr(HvCaptureRelease) rel = hv_capture_release(c);
  gint after = g_atomic_int_get(&f->callbacks);
  g_assert_true(hv_capture_release_wait(rel, WAIT_S * G_USEC_PER_SEC));
  run_for(f, 300); /* anything queued on the main context runs now */
  g_assert_cmpint(g_atomic_int_get(&f->callbacks), ==, after);
  g_assert_false(f->eos);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  gst_init(&argc, &argv);
  static const guint delays[] = { 0, 100, 300, 700 };
  for (guint i = 0; i < G_N_ELEMENTS(delays); i++) {
    g_autofree char *name = g_strdup_printf("/capture/stop-during-startup/%ums", delays[i]);
    g_test_add(name, Fixture, GUINT_TO_POINTER(delays[i]), fixture_setup, test_stop_during_startup,
               fixture_teardown);
  }
  g_test_add("/capture/release-while-running", Fixture, NULL, fixture_setup, test_release_while_running,
             fixture_teardown);
  return g_test_run();
}
