// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ts-remux: a whole stream goes into a fast-start MP4 (moov before mdat,
 * 0600) with all its frames; a stream cut anywhere at an interruption
 * loses its last video access unit and any AAC frame that is not whole,
 * and what is written decodes without error (ffmpeg, the independent
 * decoder); chapters are written; a stream that is not MPEG-TS is an
 * input error. GStreamer only makes the test stream, as the recorder does.
 */
#include "ts-remux.h"

#include <gst/gst.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

/* Two seconds of H.264 + AAC in MPEG-TS, encoded as the recorder does. */
static char *
make_ts(const char *dir)
{
  char *path = g_build_filename(dir, "in.ts", NULL);
  g_autofree char *desc = g_strdup_printf(
    "videotestsrc num-buffers=50 ! video/x-raw,width=320,height=240,framerate=25/1 ! "
    "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 ! h264parse ! queue ! "
    "mpegtsmux name=m ! filesink location=%s "
    "audiotestsrc num-buffers=94 samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=1 ! "
    "avenc_aac ! aacparse ! queue ! m.", path);
  g_autoptr(GError) err = NULL;
  GstElement *p = gst_parse_launch(desc, &err);
  g_assert_no_error(err);
  g_assert_cmpint(gst_element_set_state(p, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
  g_autoptr(GstBus) bus = gst_element_get_bus(p);
  g_autoptr(GstMessage) msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                                         GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull(msg);
  g_assert_cmpint(GST_MESSAGE_TYPE(msg), ==, GST_MESSAGE_EOS);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  return path;
}

static gsize
file_size(const char *path)
{
  GStatBuf st;
  g_assert_cmpint(g_stat(path, &st), ==, 0);
  return (gsize) st.st_size;
}

/* The order of the MP4's top-level boxes, e.g. "ftyp moov free mdat". */
static char *
top_level_boxes(const char *path)
{
  gchar *data;
  gsize len;
  g_assert_true(g_file_get_contents(path, &data, &len, NULL));
  g_autoptr(GString) order = g_string_new(NULL);
  for (gsize off = 0; off + 8 <= len;) {
    guint64 size = ((guint64) (guint8) data[off] << 24) | ((guint8) data[off + 1] << 16) |
                   ((guint8) data[off + 2] << 8) | (guint8) data[off + 3];
    if (size == 1 && off + 16 <= len) {
      size = 0;
      for (int k = 0; k < 8; k++)
        size = size << 8 | (guint8) data[off + 8 + k];
    }
    g_string_append_printf(order, "%s%.4s", order->len ? " " : "", data + off + 4);
    if (size < 8)
      break;
    off += size;
  }
  g_free(data);
  return g_string_free(g_steal_pointer(&order), FALSE);
}

/* ffmpeg's decoder errors on the MP4 ("" when it decodes cleanly). */
static char *
decode_errors(const char *mp4)
{
  const char *argv[] = { "ffmpeg", "-nostdin", "-v", "error", "-i", mp4, "-f", "null", "-", NULL };
  g_autofree char *out = NULL;
  char *err = NULL;
  int status;
  g_autoptr(GError) e = NULL;
  g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &e));
  g_assert_no_error(e);
  g_assert_true(g_spawn_check_wait_status(status, NULL));
  return err;
}

static void
test_complete(void)
{
  g_autofree char *dir = g_dir_make_tmp("haven-remux-XXXXXX", NULL);
  g_autofree char *ts = make_ts(dir);
  g_autofree char *mp4 = g_build_filename(dir, "a.mp4", NULL);
  g_autoptr(GError) err = NULL;
  HvRemuxResult res;
  mode_t old = umask(022);
  gboolean ok = hv_ts_remux_to_mp4(ts, mp4, NULL, &res, &err);
  umask(old);
  g_assert_no_error(err);
  g_assert_true(ok);
  g_assert_true(res.has_video && res.has_audio);
  g_assert_cmpuint(res.video_frames_dropped, ==, 0);
  g_assert_cmpuint(res.audio_frames_dropped, ==, 0);
  g_assert_cmpint(res.video_us, ==, 2000000);   /* 50 frames at 25/s: every one */
  g_assert_cmpint(ABS(res.audio_us - res.video_us), <, 100000);
  g_assert_cmpuint(file_size(mp4), >, 10000);
  GStatBuf st;
  g_assert_cmpint(g_stat(mp4, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 0777, ==, 0600);
  g_autofree char *boxes = top_level_boxes(mp4);
  g_test_message("boxes: %s", boxes);
  g_assert_nonnull(strstr(boxes, "moov"));
  g_assert_true(strstr(boxes, "moov") < strstr(boxes, "mdat"));   /* fast start */
  g_autofree char *errors = decode_errors(mp4);
  g_assert_cmpstr(errors, ==, "");
  g_unlink(mp4);
  g_unlink(ts);
  g_rmdir(dir);
}

/* The stream cut at many points in its last 20 kB, as an interruption cuts it. */
static void
test_interrupted(void)
{
  g_autofree char *dir = g_dir_make_tmp("haven-remux-XXXXXX", NULL);
  g_autofree char *ts = make_ts(dir);
  gchar *data;
  gsize len;
  g_assert_true(g_file_get_contents(ts, &data, &len, NULL));
  g_autofree char *cut = g_build_filename(dir, "cut.ts", NULL);
  guint audio_dropped = 0, cuts = 0;
  for (gsize end = len - 188; end + 20000 > len; end -= 188 * 7) {
    g_assert_true(g_file_set_contents(cut, data, (gssize) end, NULL));
    g_autofree char *mp4 = g_build_filename(dir, "cut.mp4", NULL);
    g_autoptr(GError) err = NULL;
    HvRemuxOptions ro = { .interrupted = TRUE };
    HvRemuxResult res;
    g_assert_true(hv_ts_remux_to_mp4(cut, mp4, &ro, &res, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(res.video_frames_dropped, ==, 1);
    g_assert_cmpint(res.video_dropped_us, ==, 40000);
    audio_dropped += res.audio_frames_dropped;
    g_autofree char *errors = decode_errors(mp4);
    g_test_message("cut at %" G_GSIZE_FORMAT ": video %" G_GINT64_FORMAT " us, audio %" G_GINT64_FORMAT
                   " us, %u audio frames dropped%s%s", end, res.video_us, res.audio_us,
                   res.audio_frames_dropped, *errors ? ": " : "", errors);
    g_assert_cmpstr(errors, ==, "");
    g_unlink(mp4);
    /* the same cut, taken as a clean end, keeps its last access unit */
    ro.interrupted = FALSE;
    g_assert_true(hv_ts_remux_to_mp4(cut, mp4, &ro, &res, &err));
    g_assert_cmpuint(res.video_frames_dropped, ==, 0);
    g_unlink(mp4);
    cuts++;
  }
  g_test_message("%u cuts, %u torn audio frames left out", cuts, audio_dropped);
  g_assert_cmpuint(cuts, >, 10);
  g_assert_cmpuint(audio_dropped, >, 0);   /* some cut tore an audio frame */
  g_free(data);
  g_unlink(cut);
  g_unlink(ts);
  g_rmdir(dir);
}

static void
test_chapters(void)
{
  g_autofree char *dir = g_dir_make_tmp("haven-remux-XXXXXX", NULL);
  g_autofree char *ts = make_ts(dir);
  g_autofree char *mp4 = g_build_filename(dir, "c.mp4", NULL);
  HvRemuxChapter ch[] = { { 500000, "2026-11-29 10:00:00 +00:00 first marker" },
                          { 1500000, "2026-11-29 10:00:01 +00:00 second marker" },
                          { 9000000, "2026-11-29 10:00:09 +00:00 after the end" } };
  HvRemuxOptions ro = { .chapters = ch, .n_chapters = G_N_ELEMENTS(ch) };
  HvRemuxResult res;
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_ts_remux_to_mp4(ts, mp4, &ro, &res, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(res.chapters, ==, 4);   /* and the start */
  const char *argv[] = { "ffprobe", "-v", "error", "-show_entries", "chapter=start_time,end_time:chapter_tags=title",
                         "-of", "csv=p=0", mp4, NULL };
  g_autofree char *out = NULL;
  int status;
  g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                             NULL, NULL, &out, NULL, &status, &err));
  g_test_message("%s", out);
  g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
  g_assert_cmpuint(g_strv_length(lines), ==, 5);
  g_assert_cmpstr(lines[0], ==, "0.000000,0.500000," HV_REMUX_START_CHAPTER);
  g_assert_cmpstr(lines[1], ==, "0.500000,1.500000,2026-11-29 10:00:00 +00:00 first marker");
  /* a marker after the last frame is a chapter at the very end */
  double start, end;
  g_assert_cmpint(sscanf(lines[2], "1.500000,%lf,", &end), ==, 1);
  g_assert_true(g_str_has_suffix(lines[2], ",2026-11-29 10:00:01 +00:00 second marker"));
  g_assert_cmpint(sscanf(lines[3], "%lf,%lf,", &start, &end), ==, 2);
  g_assert_true(g_str_has_suffix(lines[3], ",2026-11-29 10:00:09 +00:00 after the end"));
  g_assert_cmpfloat(start, >, 1.9);
  g_assert_cmpfloat(start, <, 2.03);   /* the stream lasts 2.027 s */
  g_assert_cmpfloat(end, >, start);
  g_assert_cmpfloat(end, <=, 2.03);
  g_unlink(mp4);
  g_unlink(ts);
  g_rmdir(dir);
}

/* Thousands of markers at the same instant of a 2 s session: the chapter
 * track (one chapter a millisecond at least) must not outlast the media
 * (was: 5001 chapters, an MP4 of 5.001 s with 2 s of media). */
static void
test_chapters_crowded(void)
{
  g_autofree char *dir = g_dir_make_tmp("haven-remux-XXXXXX", NULL);
  g_autofree char *ts = make_ts(dir);
  g_autofree char *mp4 = g_build_filename(dir, "crowd.mp4", NULL);
  enum { N = 5000 };
  g_autofree HvRemuxChapter *ch = g_new0(HvRemuxChapter, N);
  for (guint i = 0; i < N; i++)
    ch[i] = (HvRemuxChapter) { 1000000, "2026-11-29 10:00:01 +00:00 marker" };
  HvRemuxOptions ro = { .chapters = ch, .n_chapters = N };
  HvRemuxResult res;
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_ts_remux_to_mp4(ts, mp4, &ro, &res, &err));
  g_assert_no_error(err);
  g_test_message("%u chapters written, the first %u of %u given", res.chapters, res.chapters_given, N);
  g_assert_cmpuint(res.chapters, ==, res.chapters_given + 1);   /* and the start */
  g_assert_cmpuint(res.chapters_given, <, N);
  g_assert_cmpuint(res.chapters_given, >, 1900);   /* one a millisecond fits */
  const char *argv[] = { "ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", mp4, NULL };
  g_autofree char *out = NULL;
  int status;
  g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                             NULL, NULL, &out, NULL, &status, &err));
  g_test_message("MP4 duration %s", out);
  g_assert_cmpfloat(g_ascii_strtod(out, NULL), <, 2.1);   /* the stream lasts 2.027 s */
  g_autofree char *errors = decode_errors(mp4);
  g_assert_cmpstr(errors, ==, "");
  g_unlink(mp4);
  g_unlink(ts);
  g_rmdir(dir);
}

static void
test_not_ts(void)
{
  g_autofree char *dir = g_dir_make_tmp("haven-remux-XXXXXX", NULL);
  g_autofree char *in = g_build_filename(dir, "junk.ts", NULL);
  g_autofree char *out = g_build_filename(dir, "x.mp4", NULL);
  guint8 junk[1 << 16];
  for (gsize k = 0; k < sizeof junk; k++)
    junk[k] = (guint8) (k * 131 + (k >> 8));
  g_assert_true(g_file_set_contents(in, (const char *) junk, sizeof junk, NULL));
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_ts_remux_to_mp4(in, out, NULL, NULL, &err));
  g_assert_error(err, HV_REMUX_ERROR, HV_REMUX_ERROR_INPUT);
  g_test_message("%s", err->message);
  g_assert_true(g_str_has_prefix(err->message, "junk.ts: "));   /* the file, not its directory */
  g_unlink(out);
  g_unlink(in);
  g_rmdir(dir);
}

/* MPEG-2 CRC-32 of a PSI section. */
static guint32
psi_crc(const guint8 *d, gsize len)
{
  guint32 crc = 0xffffffffu;
  for (gsize i = 0; i < len; i++) {
    crc ^= (guint32) d[i] << 24;
    for (int b = 0; b < 8; b++)
      crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
  }
  return crc;
}

/* A TS packet of pid holding one PSI section (table id, extension, body). */
static void
psi_packet(GByteArray *out, guint16 pid, guint8 table, guint16 ext, const guint8 *body, gsize body_len)
{
  guint8 p[188];
  memset(p, 0xff, sizeof p);
  gsize l = 5 + body_len + 4;
  guint8 head[] = { 0x47, (guint8) (0x40 | (pid >> 8)), (guint8) pid, 0x10, 0x00,
                    table, (guint8) (0xb0 | (l >> 8)), (guint8) l, (guint8) (ext >> 8), (guint8) ext, 0xc1, 0, 0 };
  g_assert_cmpuint(sizeof head + body_len + 4, <=, sizeof p);
  memcpy(p, head, sizeof head);
  memcpy(p + sizeof head, body, body_len);
  guint32 crc = psi_crc(p + 5, 8 + body_len);
  guint8 c[] = { (guint8) (crc >> 24), (guint8) (crc >> 16), (guint8) (crc >> 8), (guint8) crc };
  memcpy(p + sizeof head + body_len, c, 4);
  g_byte_array_append(out, p, sizeof p);
}

static void
test_many_streams(void)
{
  /* the recorder's TS with a PAT of 38 more programs before every PAT of its
   * own, each program's PMT declaring 33 H.264 streams: 1254 declared
   * streams (libavformat probed a decoder for each, 860 MB and 13 s) */
  g_autofree char *dir = g_dir_make_tmp("haven-remux-XXXXXX", NULL);
  g_autofree char *ts = make_ts(dir);
  g_autofree char *many = g_build_filename(dir, "many.ts", NULL);
  g_autofree char *out = g_build_filename(dir, "x.mp4", NULL);
  gchar *data;
  gsize len;
  g_assert_true(g_file_get_contents(ts, &data, &len, NULL));
  g_autofree gchar *src = data;
  g_autoptr(GByteArray) tables = g_byte_array_new();
  guint8 pat[4 * 38];
  for (guint n = 0; n < 38; n++) {
    guint16 pmt_pid = (guint16) (0x1000 + n);
    guint8 e[] = { 0, (guint8) (n + 2), (guint8) (0xe0 | (pmt_pid >> 8)), (guint8) pmt_pid };
    memcpy(pat + 4 * n, e, 4);
    guint8 pmt[4 + 5 * 33] = { 0xe1, 0x00, 0xf0, 0x00 };
    for (guint k = 0; k < 33; k++) {
      guint16 es = (guint16) (0x200 + n * 33 + k);
      guint8 d[] = { 0x1b, (guint8) (0xe0 | (es >> 8)), (guint8) es, 0xf0, 0x00 };
      memcpy(pmt + 4 + 5 * k, d, 5);
    }
    psi_packet(tables, pmt_pid, 0x02, (guint16) (n + 2), pmt, sizeof pmt);
  }
  g_autoptr(GByteArray) stream = g_byte_array_new();
  for (gsize off = 0; off + 188 <= len; off += 188) {
    const guint8 *p = (const guint8 *) src + off;
    if ((((p[1] & 0x1f) << 8) | p[2]) == 0) {   /* before the recorder's PAT, one with the extra programs */
      psi_packet(stream, 0, 0x00, 1, pat, sizeof pat);
      g_byte_array_append(stream, tables->data, tables->len);
    }
    g_byte_array_append(stream, p, 188);
  }
  g_assert_true(g_file_set_contents(many, (const char *) stream->data, stream->len, NULL));
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_ts_remux_to_mp4(many, out, NULL, NULL, &err));
  g_assert_error(err, HV_REMUX_ERROR, HV_REMUX_ERROR_INPUT);
  g_test_message("%s", err->message);
  g_assert_cmpstr(err->message, ==, "many.ts: more than 16 streams: not the recorder's MPEG-TS (a video and an "
                  "audio stream)");
  /* the recorder's own is remuxed as before */
  g_clear_error(&err);
  HvRemuxResult res;
  g_assert_true(hv_ts_remux_to_mp4(ts, out, NULL, &res, &err));
  g_assert_no_error(err);
  g_assert_true(res.has_video && res.has_audio);
  g_unlink(out);
  g_unlink(many);
  g_unlink(ts);
  g_rmdir(dir);
}

int
main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ts-remux/complete", test_complete);
  g_test_add_func("/ts-remux/interrupted", test_interrupted);
  g_test_add_func("/ts-remux/chapters", test_chapters);
  g_test_add_func("/ts-remux/chapters-crowded", test_chapters_crowded);
  g_test_add_func("/ts-remux/not-ts", test_not_ts);
  g_test_add_func("/ts-remux/many-streams", test_many_streams);
  return g_test_run();
}
