// SPDX-License-Identifier: GPL-2.0-or-later
/* recorder: every refusal to start carries the code of its cause (the
 * daemon's fault class is decided by it, never by the message text). */
#include "recorder.h"
#include "test-helpers.h"

typedef struct {
  Fixture          f;
  HvRecorderConfig cfg;
} RecFixture;

static void
rec_setup(RecFixture *rf, gconstpointer data)
{
  fixture_setup(&rf->f, data);
  hv_recorder_config_init(&rf->cfg);
  rf->cfg.roots[0] = g_build_filename(rf->f.dir, "storage", NULL);
  memcpy(rf->cfg.recipients, rf->f.recipient, HV_RECIPIENT_PK_SIZE);
  rf->cfg.n_recipients = 1;
  rf->cfg.min_free_minutes = 1;
  rf->cfg.width = 64;
  rf->cfg.height = 48;
}

static void
rec_teardown(RecFixture *rf, gconstpointer data)
{
  hv_recorder_config_clear(&rf->cfg);
  fixture_teardown(&rf->f, data);
}

static void on_health(HvRecorder *r, gboolean healthy, const char *why, gpointer ud) {}
static void on_fault(HvRecorder *r, HvFaultClass cls, gboolean active, const char *why, gpointer ud) {}
static void on_finished(HvRecorder *r, const HvSessionResult *res, gpointer ud) {}
static const HvRecorderCallbacks callbacks = { on_health, on_fault, on_finished, NULL };

static void
test_preflight_ok(RecFixture *rf, gconstpointer data)
{
  g_autoptr(HvRecorder) r = hv_recorder_new(&rf->cfg, rf->f.device, &callbacks, NULL);
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_recorder_preflight(r, &err));
  g_assert_no_error(err);
}

static void
test_no_recipient_is_keys(RecFixture *rf, gconstpointer data)
{
  rf->cfg.n_recipients = 0;
  g_autoptr(HvRecorder) r = hv_recorder_new(&rf->cfg, rf->f.device, &callbacks, NULL);
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_recorder_preflight(r, &err));
  g_assert_error(err, HV_RECORDER_ERROR, HV_RECORDER_ERROR_KEYS);
  g_assert_false(hv_recorder_start(r, 1, NULL, NULL, NULL)); /* a NULL error is allowed */
}

static void
test_uncreatable_root_is_storage(RecFixture *rf, gconstpointer data)
{
  g_autofree char *file = g_build_filename(rf->f.dir, "a-file", NULL);
  g_assert_true(g_file_set_contents(file, "x", 1, NULL));
  g_free(rf->cfg.roots[0]);
  rf->cfg.roots[0] = g_build_filename(file, "storage", NULL);
  g_autoptr(HvRecorder) r = hv_recorder_new(&rf->cfg, rf->f.device, &callbacks, NULL);
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_recorder_preflight(r, &err));
  g_assert_error(err, HV_RECORDER_ERROR, HV_RECORDER_ERROR_STORAGE);
  g_assert_nonnull(strstr(err->message, rf->cfg.roots[0])); /* names the root */
}

static void
test_short_of_space_is_storage(RecFixture *rf, gconstpointer data)
{
  rf->cfg.min_free_minutes = 100000000;
  g_autoptr(HvRecorder) r = hv_recorder_new(&rf->cfg, rf->f.device, &callbacks, NULL);
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_recorder_preflight(r, &err));
  g_assert_error(err, HV_RECORDER_ERROR, HV_RECORDER_ERROR_STORAGE);
}

static void
test_missing_camera_is_source(RecFixture *rf, gconstpointer data)
{
  rf->cfg.video[0].kind = HV_VIDEO_V4L2;
  rf->cfg.video[0].device = g_strdup("/dev/video-that-does-not-exist");
  g_autoptr(HvRecorder) r = hv_recorder_new(&rf->cfg, rf->f.device, &callbacks, NULL);
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_recorder_start(r, 1, NULL, NULL, &err));
  g_assert_error(err, HV_RECORDER_ERROR, HV_RECORDER_ERROR_SOURCE);
  g_assert_false(hv_recorder_is_active(r));
  g_assert_false(hv_recorder_start(r, 1, NULL, NULL, NULL)); /* and with a NULL error: no crash */
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/recorder/preflight/ok", RecFixture, NULL, rec_setup, test_preflight_ok, rec_teardown);
  g_test_add("/recorder/preflight/keys", RecFixture, NULL, rec_setup, test_no_recipient_is_keys, rec_teardown);
  g_test_add("/recorder/preflight/storage-uncreatable", RecFixture, NULL, rec_setup,
             test_uncreatable_root_is_storage, rec_teardown);
  g_test_add("/recorder/preflight/storage-short", RecFixture, NULL, rec_setup, test_short_of_space_is_storage,
             rec_teardown);
  g_test_add("/recorder/start/source", RecFixture, NULL, rec_setup, test_missing_camera_is_source, rec_teardown);
  return g_test_run();
}
