// SPDX-License-Identifier: GPL-2.0-or-later
/* recorder/remux-process.c: the request and result passed to and from
 * haven-remux, and how a missing, failing, crashing or confused helper is
 * reported (the real helper is run by the export tests). */
#include "remux-process.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static const char RESULT[] =
  "{\"has_video\":true,\"has_audio\":false,\"video_us\":7100000,\"audio_us\":0,"
  "\"video_frames_dropped\":1,\"video_dropped_us\":40000,\"audio_frames_dropped\":2,"
  "\"audio_dropped_us\":42666,\"chapters\":2,\"chapters_given\":1}";

static void
test_request_round_trip(void)
{
  HvRemuxChapter ch[] = {
    { 0, "2026-11-29 13:00:00 +00:00 start" },
    { 1500000, "2026-11-29 13:00:01 +00:00 \"quoted\" \\ caf\u00e9 \u2026" },
    { -5, "" },
  };
  HvRemuxOptions o = { .interrupted = TRUE, .chapters = ch, .n_chapters = G_N_ELEMENTS(ch) };
  gsize len = 0;
  g_autofree char *json = hv_remux_process_request_to_json(&o, &len);
  g_assert_cmpuint(len, ==, strlen(json));
  g_autoptr(GError) err = NULL;
  g_autoptr(HvRemuxRequest) req = hv_remux_process_request_parse(json, len, &err);
  g_assert_no_error(err);
  const HvRemuxOptions *r = hv_remux_request_options(req);
  g_assert_true(r->interrupted);
  g_assert_cmpuint(r->n_chapters, ==, G_N_ELEMENTS(ch));
  for (guint i = 0; i < G_N_ELEMENTS(ch); i++) {
    g_assert_cmpint(r->chapters[i].start_us, ==, ch[i].start_us);
    g_assert_cmpstr(r->chapters[i].title, ==, ch[i].title);
  }
  g_assert_null(r->start_title);   /* not given: the default title */
  /* a clip's start chapter title */
  o.start_title = "Start of the clip (+00:00:06.0 in the recording)";
  g_autofree char *clip = hv_remux_process_request_to_json(&o, &len);
  g_autoptr(HvRemuxRequest) req3 = hv_remux_process_request_parse(clip, len, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(hv_remux_request_options(req3)->start_title, ==, o.start_title);
  /* none: not interrupted, no chapters */
  g_autofree char *none = hv_remux_process_request_to_json(NULL, &len);
  g_autoptr(HvRemuxRequest) req2 = hv_remux_process_request_parse(none, len, &err);
  g_assert_no_error(err);
  g_assert_false(hv_remux_request_options(req2)->interrupted);
  g_assert_cmpuint(hv_remux_request_options(req2)->n_chapters, ==, 0);
}

static void
test_request_bad(void)
{
  const struct {
    const char *json, *says;
  } cases[] = {
    { "", "not" },
    { "chapters", "not JSON" },
    { "[]", "not a JSON object" },
    { "{\"chapters\":[]}", "\"interrupted\" is missing" },
    { "{\"interrupted\":1,\"chapters\":[]}", "\"interrupted\" has the wrong type" },
    { "{\"interrupted\":false}", "\"chapters\" is missing" },
    { "{\"interrupted\":false,\"chapters\":{}}", "\"chapters\" is not an array" },
    { "{\"interrupted\":false,\"chapters\":[3]}", "chapter 1 is not an object" },
    { "{\"interrupted\":false,\"chapters\":[{\"start_us\":0,\"title\":\"a\"},{\"start_us\":1}]}",
      "chapter 2: \"title\" is missing" },
    { "{\"interrupted\":false,\"chapters\":[{\"start_us\":\"0\",\"title\":\"a\"}]}",
      "chapter 1: \"start_us\" has the wrong type" },
    { "{\"interrupted\":false,\"chapters\":[],\"start_title\":7}", "\"start_title\" has the wrong type" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) err = NULL;
    g_autoptr(HvRemuxRequest) req = hv_remux_process_request_parse(cases[i].json, strlen(cases[i].json), &err);
    g_assert_null(req);
    g_assert_error(err, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_PROTOCOL);
    if (!strstr(err->message, cases[i].says))
      g_error("%s: \"%s\" does not say %s", cases[i].json, err->message, cases[i].says);
  }
}

static void
test_result_round_trip(void)
{
  HvRemuxResult r = { .has_video = TRUE, .has_audio = TRUE, .video_us = G_GINT64_CONSTANT(300000000000),
                      .audio_us = 299990000, .video_frames_dropped = 1, .video_dropped_us = 33333,
                      .audio_frames_dropped = 4, .audio_dropped_us = 85333, .chapters = 10001,
                      .chapters_given = 10000 };
  g_autofree char *json = hv_remux_process_result_to_json(&r);
  HvRemuxResult back;
  memset(&back, 0xa5, sizeof back);
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_remux_process_result_parse(json, strlen(json), &back, &err));
  g_assert_no_error(err);
  g_assert_cmpint(back.has_video, ==, TRUE);
  g_assert_cmpint(back.has_audio, ==, TRUE);
  g_assert_cmpint(back.video_us, ==, r.video_us);
  g_assert_cmpint(back.audio_us, ==, r.audio_us);
  g_assert_cmpuint(back.video_frames_dropped, ==, r.video_frames_dropped);
  g_assert_cmpint(back.video_dropped_us, ==, r.video_dropped_us);
  g_assert_cmpuint(back.audio_frames_dropped, ==, r.audio_frames_dropped);
  g_assert_cmpint(back.audio_dropped_us, ==, r.audio_dropped_us);
  g_assert_cmpuint(back.chapters, ==, r.chapters);
  g_assert_cmpuint(back.chapters_given, ==, r.chapters_given);
}

static void
test_result_bad(void)
{
  const struct {
    const char *json, *says;
  } cases[] = {
    { "", "not" },
    { "ok", "not JSON" },
    { "{\"has_video\":true}", "\"has_audio\" is missing" },
    { "{\"has_video\":true,\"has_audio\":true,\"video_us\":-1}", "\"video_us\" is -1, out of range" },
    { "{\"has_video\":true,\"has_audio\":true,\"video_us\":1.5}", "\"video_us\" has the wrong type" },
    { "{\"has_video\":true,\"has_audio\":true,\"video_us\":1,\"audio_us\":1,"
      "\"video_frames_dropped\":4294967296}", "out of range" },
    { "{\"has_video\":true,\"has_audio\":true,\"video_us\":1,\"audio_us\":1,\"video_frames_dropped\":0,"
      "\"video_dropped_us\":0,\"audio_frames_dropped\":0,\"audio_dropped_us\":0}", "\"chapters\" is missing" },
    { "{\"has_video\":true,\"has_audio\":true,\"video_us\":1,\"audio_us\":1,\"video_frames_dropped\":0,"
      "\"video_dropped_us\":0,\"audio_frames_dropped\":0,\"audio_dropped_us\":0,\"chapters\":2}",
      "\"chapters_given\" is missing" },
    { "{\"has_video\":true,\"has_audio\":true,\"video_us\":1,\"audio_us\":1,\"video_frames_dropped\":0,"
      "\"video_dropped_us\":0,\"audio_frames_dropped\":0,\"audio_dropped_us\":0,\"chapters\":2,"
      "\"chapters_given\":3}", "\"chapters_given\" is 3, out of range" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) err = NULL;
    HvRemuxResult r = { 0 };
    g_assert_false(hv_remux_process_result_parse(cases[i].json, strlen(cases[i].json), &r, &err));
    g_assert_error(err, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_PROTOCOL);
    if (!strstr(err->message, cases[i].says))
      g_error("%s: \"%s\" does not say %s", cases[i].json, err->message, cases[i].says);
  }
}

/* ---- running a stand-in for haven-remux ---- */

typedef struct {
  char *dir;
} Fixture;

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp("test-remux-process-XXXXXX", NULL);
  g_assert_nonnull(f->dir);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
  g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(f->dir, name, NULL);
    g_unlink(p);
  }
  g_rmdir(f->dir);
  g_free(f->dir);
  g_unsetenv("HAVEN_REMUX");
}

/* A shell script as $HAVEN_REMUX. */
static char *
stand_in(Fixture *f, const char *body)
{
  g_autofree char *path = g_build_filename(f->dir, "remux.sh", NULL);
  g_autofree char *script = g_strdup_printf("#!/bin/sh\n%s\n", body);
  g_assert_true(g_file_set_contents(path, script, -1, NULL));
  g_assert_cmpint(g_chmod(path, 0700), ==, 0);
  g_setenv("HAVEN_REMUX", path, TRUE);
  return g_steal_pointer(&path);
}

static gboolean
run(HvRemuxResult *res, GError **error)
{
  HvRemuxChapter ch[] = { { 2000000, "two s" } };
  HvRemuxOptions o = { .interrupted = TRUE, .chapters = ch, .n_chapters = 1 };
  return hv_remux_process_run("-in.ts", "out dir/out.mp4", &o, res, error);
}

static void
test_run_ok(Fixture *f, gconstpointer data)
{
  /* the paths after "--", the request on stdin, the result on stdout */
  g_autofree char *body = g_strdup_printf(
    "[ $# = 3 ] && [ \"$1\" = -- ] && [ \"$2\" = -in.ts ] && [ \"$3\" = 'out dir/out.mp4' ] || exit 9\n"
    "[ \"$(cat)\" = '{\"interrupted\":true,\"chapters\":[{\"start_us\":2000000,\"title\":\"two s\"}]}' ] "
    "|| exit 8\n"
    "printf '%%s\\n' '%s'", RESULT);
  g_free(stand_in(f, body));
  HvRemuxResult res = { 0 };
  g_autoptr(GError) err = NULL;
  g_assert_true(run(&res, &err));
  g_assert_no_error(err);
  g_assert_true(res.has_video);
  g_assert_false(res.has_audio);
  g_assert_cmpint(res.video_us, ==, 7100000);
  g_assert_cmpuint(res.video_frames_dropped, ==, 1);
  g_assert_cmpint(res.video_dropped_us, ==, 40000);
  g_assert_cmpuint(res.audio_frames_dropped, ==, 2);
  g_assert_cmpint(res.audio_dropped_us, ==, 42666);
  g_assert_cmpuint(res.chapters, ==, 2);
  g_assert_cmpuint(res.chapters_given, ==, 1);
}

static void
expect_failure(const char *prog, HvRemuxProcessError code, const char *says, const char *not_says)
{
  HvRemuxResult res = { 0 };
  g_autoptr(GError) err = NULL;
  g_assert_false(run(&res, &err));
  g_assert_error(err, HV_REMUX_PROCESS_ERROR, (gint) code);
  if (!strstr(err->message, says) || (prog && !strstr(err->message, prog))
      || (not_says && strstr(err->message, not_says)))
    g_error("\"%s\" does not say \"%s\" and %s, or says \"%s\"", err->message, says, prog ? prog : "-",
            not_says ? not_says : "-");
}

static void
test_run_too_many_chapters(Fixture *f, gconstpointer data)
{
  /* a result claiming more of the chapters than were asked for (one) */
  g_autofree char *prog = stand_in(f, "cat >/dev/null\n"
    "echo '{\"has_video\":true,\"has_audio\":true,\"video_us\":1,\"audio_us\":1,\"video_frames_dropped\":0,"
    "\"video_dropped_us\":0,\"audio_frames_dropped\":0,\"audio_dropped_us\":0,\"chapters\":3,"
    "\"chapters_given\":2}'");
  expect_failure(prog, HV_REMUX_PROCESS_ERROR_PROTOCOL, "claims 2 of the 1 chapters asked for", NULL);
}

static void
test_run_fails(Fixture *f, gconstpointer data)
{
  g_autofree char *prog = stand_in(f, "cat >/dev/null\n"
                                      "echo 'haven-remux: stream.ts: not the recorder'\"'\"'s MPEG-TS' >&2\n"
                                      "echo 'second line' >&2\n"
                                      "exit 1");
  expect_failure(prog, HV_REMUX_PROCESS_ERROR_FAILED,
                 "failed (exit status 1): stream.ts: not the recorder's MPEG-TS; second line", "haven-remux: ");
}

static void
test_run_false(Fixture *f, gconstpointer data)
{
  /* exits at once without reading its stdin nor saying why */
  g_setenv("HAVEN_REMUX", "/bin/false", TRUE);
  expect_failure("/bin/false", HV_REMUX_PROCESS_ERROR_FAILED, "failed (exit status 1): it gave no reason", NULL);
}

static void
test_run_crashes(Fixture *f, gconstpointer data)
{
  g_autofree char *prog = stand_in(f, "echo 'half a line' >&2\nkill -SEGV $$");
  expect_failure(prog, HV_REMUX_PROCESS_ERROR_FAILED, "was killed by signal 11", NULL);
  expect_failure(prog, HV_REMUX_PROCESS_ERROR_FAILED, "half a line", NULL);
}

static void
test_run_hangs(Fixture *f, gconstpointer data)
{
  /* a helper wedged in a hostile stream (or stopped) is stopped at its time
   * limit: export then goes on without the MP4 */
  g_free(stand_in(f, "exec sleep 60"));
  g_setenv("HAVEN_REMUX_TIMEOUT", "1", TRUE);
  gint64 t0 = g_get_monotonic_time();
  expect_failure(NULL, HV_REMUX_PROCESS_ERROR_FAILED, "did not finish within 1 s; it was stopped", NULL);
  g_unsetenv("HAVEN_REMUX_TIMEOUT");
  g_assert_cmpint(g_get_monotonic_time() - t0, <, 30 * G_USEC_PER_SEC);
}

static void
test_time_limit(Fixture *f, gconstpointer data)
{
  g_autofree char *ts = g_build_filename(f->dir, "s.ts", NULL);
  g_assert_true(g_file_set_contents(ts, "", 0, NULL));
  g_assert_cmpint(truncate(ts, 100 * HV_REMUX_SLOWEST_BYTES_PER_S), ==, 0);   /* sparse */
  g_unsetenv("HAVEN_REMUX_TIMEOUT");
  g_assert_cmpuint(hv_remux_process_time_limit(ts), ==, HV_REMUX_TIME_BASE_S + 100);
  g_assert_cmpuint(hv_remux_process_time_limit("/no/such.ts"), ==, HV_REMUX_TIME_BASE_S);
  g_setenv("HAVEN_REMUX_TIMEOUT", "7", TRUE);
  g_assert_cmpuint(hv_remux_process_time_limit(ts), ==, 7);
  g_setenv("HAVEN_REMUX_TIMEOUT", "0", TRUE);   /* not a limit: ignored */
  g_assert_cmpuint(hv_remux_process_time_limit(ts), ==, HV_REMUX_TIME_BASE_S + 100);
  g_unsetenv("HAVEN_REMUX_TIMEOUT");
}

static void
test_run_missing(Fixture *f, gconstpointer data)
{
  g_autofree char *prog = g_build_filename(f->dir, "no-such-remux", NULL);
  g_setenv("HAVEN_REMUX", prog, TRUE);
  expect_failure(prog, HV_REMUX_PROCESS_ERROR_FAILED, "could not be run", NULL);
  expect_failure(prog, HV_REMUX_PROCESS_ERROR_FAILED, "(it comes with the haven-remux package)", NULL);
}

static void
test_run_no_result(Fixture *f, gconstpointer data)
{
  g_autofree char *prog = stand_in(f, "echo done");
  expect_failure(prog, HV_REMUX_PROCESS_ERROR_PROTOCOL, "exited 0 without a result", NULL);
  g_free(stand_in(f, "exit 0"));
  expect_failure(NULL, HV_REMUX_PROCESS_ERROR_PROTOCOL, "exited 0 without a result", NULL);
}

static void
test_program(void)
{
  g_setenv("HAVEN_REMUX", "/x/remux", TRUE);
  g_autofree char *env = hv_remux_process_program();
  g_assert_cmpstr(env, ==, "/x/remux");
  g_unsetenv("HAVEN_REMUX");
  /* nothing named haven-remux beside this test: the installed one */
  g_autofree char *installed = hv_remux_process_program();
  g_assert_true(g_str_has_suffix(installed, "/haven/haven-remux"));
  g_assert_true(g_path_is_absolute(installed));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_unsetenv("HAVEN_REMUX");
  g_test_add_func("/remux-process/request", test_request_round_trip);
  g_test_add_func("/remux-process/request-bad", test_request_bad);
  g_test_add_func("/remux-process/result", test_result_round_trip);
  g_test_add_func("/remux-process/result-bad", test_result_bad);
  g_test_add_func("/remux-process/program", test_program);
  g_test_add("/remux-process/run/ok", Fixture, NULL, fixture_set_up, test_run_ok, fixture_tear_down);
  g_test_add("/remux-process/run/fails", Fixture, NULL, fixture_set_up, test_run_fails, fixture_tear_down);
  g_test_add("/remux-process/run/false", Fixture, NULL, fixture_set_up, test_run_false, fixture_tear_down);
  g_test_add("/remux-process/run/crashes", Fixture, NULL, fixture_set_up, test_run_crashes, fixture_tear_down);
  g_test_add("/remux-process/run/hangs", Fixture, NULL, fixture_set_up, test_run_hangs, fixture_tear_down);
  g_test_add("/remux-process/time-limit", Fixture, NULL, fixture_set_up, test_time_limit, fixture_tear_down);
  g_test_add("/remux-process/run/missing", Fixture, NULL, fixture_set_up, test_run_missing, fixture_tear_down);
  g_test_add("/remux-process/run/too-many-chapters", Fixture, NULL, fixture_set_up, test_run_too_many_chapters,
             fixture_tear_down);
  g_test_add("/remux-process/run/no-result", Fixture, NULL, fixture_set_up, test_run_no_result,
             fixture_tear_down);
  return g_test_run();
}
