// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hv-record: drives the recorder library directly (no daemon): record N
 * seconds from the configured sources into the storage roots, then stop and
 * seal. Prints the fingerprint, start latency, CPU time and peak RSS. Used by
 * the recorder tests and benchmarks.
 */
#include "recorder.h"
#include "storage.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

typedef struct {
  GMainLoop *loop;
  HvRecorder *rec;
  int status;
  gint64 healthy_at;
  gint64 start;
  guint faults;
} App;

static void
on_health(HvRecorder *r, gboolean healthy, const char *why, gpointer ud)
{
  App *a = ud;
  if (healthy && !a->healthy_at)
    a->healthy_at = g_get_monotonic_time();
  printf("health: %s%s%s\n", healthy ? "healthy" : "not healthy", why ? " - " : "", why ? why : "");
  fflush(stdout);
}

static void
on_fault(HvRecorder *r, HvFaultClass cls, gboolean active, const char *why, gpointer ud)
{
  App *a = ud;
  a->faults += active;
  printf("fault: %s %s: %s\n", hv_fault_class_name(cls), active ? "raised" : "cleared", why);
  fflush(stdout);
}

static void
on_finished(HvRecorder *r, const HvSessionResult *res, gpointer ud)
{
  App *a = ud;
  printf("finished: %s sealed=%d fingerprint=%s reason=%s\n", hv_status_name(res->status), res->sealed,
         res->fingerprint ? res->fingerprint : "-", res->reason ? res->reason : "-");
  for (guint i = 0; res->dirs[i]; i++)
    printf("session: %s\n", res->dirs[i]);
  a->status = res->sealed ? 0 : 1;
  g_main_loop_quit(a->loop);
}

static void
on_space(HvRecorder *r, gint64 seconds_left, const char *dir, gpointer ud)
{
  printf("space: %" G_GINT64_FORMAT " s left on %s\n", seconds_left, dir);
  fflush(stdout);
}

static gboolean
do_stop(gpointer ud)
{
  App *a = ud;
  hv_recorder_stop(a->rec, "stopped by test");
  return G_SOURCE_REMOVE;
}

static gboolean
do_mark(gpointer ud)
{
  App *a = ud;
  hv_recorder_event(a->rec, HV_EVENT_MARKER, "marker from test");
  return G_SOURCE_REMOVE;
}

int
main(int argc, char **argv)
{
  g_auto(GStrv) roots = NULL, recipients = NULL;
  g_autofree char *key_path = NULL, *video = NULL, *pattern = NULL, *audio = NULL, *layout = NULL, *encoder = NULL;
  gdouble seconds = 5;
  gint cameras = 1, fail_video = 0, fail_audio = 0, width = 1280, height = 720, fps = 25, kbps = 3000;
  gint min_free = 0, silence_s = 10, reserve_s = 30;
  gboolean silent = FALSE, no_sync = FALSE;
  GOptionEntry entries[] = {
    { "root", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &roots, "Storage root (repeatable)", "DIR" },
    { "recipient", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &recipients, "Recipient .pub", "F" },
    { "device-key", 0, 0, G_OPTION_ARG_FILENAME, &key_path, "Device key (created if missing)", "F" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Record this long", "S" },
    { "cameras", 0, 0, G_OPTION_ARG_INT, &cameras, "1 or 2", "N" },
    { "video", 0, 0, G_OPTION_ARG_STRING, &video, "test or /dev/videoN for camera 1", "SRC" },
    { "audio", 0, 0, G_OPTION_ARG_STRING, &audio, "test or an ALSA device", "SRC" },
    { "pattern", 0, 0, G_OPTION_ARG_STRING, &pattern, "videotestsrc pattern for camera 1", "P" },
    { "layout", 0, 0, G_OPTION_ARG_STRING, &layout, "pip or side-by-side", "L" },
    { "encoder", 0, 0, G_OPTION_ARG_STRING, &encoder, "auto, x264, v4l2", "E" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "", "N" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "", "N" },
    { "fps", 0, 0, G_OPTION_ARG_INT, &fps, "", "N" },
    { "kbps", 0, 0, G_OPTION_ARG_INT, &kbps, "", "N" },
    { "min-free-minutes", 0, 0, G_OPTION_ARG_INT, &min_free, "", "N" },
    { "reserve-seconds", 0, 0, G_OPTION_ARG_INT, &reserve_s, "Storage reserve", "N" },
    { "fail-video-after", 0, 0, G_OPTION_ARG_INT, &fail_video, "Inject a camera 1 error after N frames", "N" },
    { "fail-audio-after", 0, 0, G_OPTION_ARG_INT, &fail_audio, "Inject a microphone error", "N" },
    { "silent", 0, 0, G_OPTION_ARG_NONE, &silent, "Silent test microphone", NULL },
    { "silence-seconds", 0, 0, G_OPTION_ARG_INT, &silence_s, "", "N" },
    { "no-sync", 0, 0, G_OPTION_ARG_NONE, &no_sync, "Skip fsync", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("- record a test session with the recorder library");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_autoptr(GError) err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err) || !roots || !recipients || !key_path) {
    g_printerr("hv-record: %s\n", err ? err->message : "--root, --recipient, --device-key needed");
    return 2;
  }
  if (sodium_init() < 0)
    return 2;
  g_autoptr(HvDeviceKey) key = g_file_test(key_path, G_FILE_TEST_EXISTS) ? hv_device_key_load(key_path, &err)
                                                                          : hv_device_key_generate(key_path, &err);
  if (!key) {
    g_printerr("hv-record: %s\n", err->message);
    return 2;
  }
  HvRecorderConfig cfg;
  hv_recorder_config_init(&cfg);
  g_free(cfg.room);
  cfg.room = g_strdup("Test room");
  cfg.n_video = (guint) cameras;
  if (video && g_strcmp0(video, "test")) {
    cfg.video[0].kind = HV_VIDEO_V4L2;
    cfg.video[0].device = g_strdup(video);
  }
  cfg.video[0].fail_after = (guint) fail_video;
  if (pattern) {
    g_free(cfg.video[0].pattern);
    cfg.video[0].pattern = g_strdup(pattern);
  }
  if (cameras == 2)
    cfg.video[1].pattern = g_strdup("smpte");
  if (audio && g_strcmp0(audio, "test")) {
    cfg.audio.kind = HV_AUDIO_ALSA;
    cfg.audio.device = g_strdup(audio);
  }
  cfg.audio.fail_after = (guint) fail_audio;
  cfg.audio.silent = silent;
  cfg.silence_seconds = (guint) silence_s;
  if (layout && g_str_equal(layout, "side-by-side"))
    cfg.layout = HV_LAYOUT_SIDE_BY_SIDE;
  if (encoder) {
    g_free(cfg.encoder);
    cfg.encoder = g_strdup(encoder);
  }
  cfg.width = (guint) width;
  cfg.height = (guint) height;
  cfg.fps = (guint) fps;
  cfg.video_kbps = (guint) kbps;
  cfg.min_free_minutes = (guint) min_free;
  cfg.reserve_seconds = (guint) reserve_s;
  cfg.no_sync = no_sync;
  for (guint i = 0; roots[i] && i < HV_MAX_ROOTS; i++)
    cfg.roots[i] = g_strdup(roots[i]);
  for (guint i = 0; recipients[i] && i < HV_RECIPIENTS_MAX; i++) {
    if (!hv_recipient_load(recipients[i], cfg.recipients + i * HV_RECIPIENT_PK_SIZE, &err)) {
      g_printerr("hv-record: %s\n", err->message);
      return 2;
    }
    cfg.n_recipients++;
  }
  if (!hv_recorder_config_validate(&cfg, &err)) {
    g_printerr("hv-record: %s\n", err->message);
    return 2;
  }
  HvDeviceState pos; /* no device state here: continue from the signed sessions in storage */
  if (!hv_storage_state_adopt(cfg.roots, NULL, key->pk, &pos, &err)) {
    g_printerr("hv-record: %s\n", err->message);
    return 2;
  }
  App a = { .loop = g_main_loop_new(NULL, FALSE), .status = 1 };
  HvRecorderCallbacks cb = { on_health, on_fault, on_finished, on_space };
  a.rec = hv_recorder_new(&cfg, key, &cb, &a);
  a.start = g_get_monotonic_time();
  if (!hv_recorder_start(a.rec, pos.next_seq, pos.sealed_seq ? pos.sealed_hash : NULL, "recording started by test", &err)) {
    g_printerr("hv-record: refused to start: %s\n", err->message);
    if (hv_recorder_is_active(a.rec))
      g_main_loop_run(a.loop); /* a session was opened: wait for its seal */
    hv_recorder_free(a.rec);
    hv_recorder_config_clear(&cfg);
    g_main_loop_unref(a.loop);
    return 3;
  }
  g_timeout_add((guint) (seconds * 500), do_mark, &a);
  g_timeout_add((guint) (seconds * 1000), do_stop, &a);
  g_main_loop_run(a.loop);

  HvRecorderStats st;
  hv_recorder_get_stats(a.rec, &st);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("start-latency-ms: %.1f\n", st.start_latency_us / 1000.0);
  printf("healthy-after-ms: %.1f\n", a.healthy_at ? (a.healthy_at - a.start) / 1000.0 : -1.0);
  printf("cpu-seconds: %.3f\n", ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
                                  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
  printf("peak-rss-mb: %.1f\n", ru.ru_maxrss / 1024.0);
  hv_recorder_free(a.rec);
  hv_recorder_config_clear(&cfg);
  g_main_loop_unref(a.loop);
  return a.status;
}
