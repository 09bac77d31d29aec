// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ts-clip (FORMAT §14): the scanner finds the keyframes of a stream encoded
 * as the recorder encodes (one per second here) whatever the pieces it is fed
 * in; the cut starts at the last keyframe at or before `from` and ends at the
 * first at or after `to`, with the last PAT and PMT before it; the extracted
 * clip is those packets then the stream's bytes, whatever the pieces; it
 * plays alone (ffprobe: first frame a keyframe; the MP4 remuxed from it
 * decodes without an error line); bad ranges and junk are named errors.
 */
#include "ts-clip.h"
#include "ts-remux.h"

#include <gst/gst.h>
#include <glib/gstdio.h>
#include <string.h>

static char *dir;
static char *ts_path;
static guint8 *ts;
static gsize ts_len;

/* Four seconds of H.264 (a keyframe a second) + AAC in MPEG-TS, encoded as
 * the recorder does. */
static void
make_ts(void)
{
  ts_path = g_build_filename(dir, "in.ts", NULL);
  g_autofree char *desc = g_strdup_printf(
    "videotestsrc num-buffers=100 ! video/x-raw,width=320,height=240,framerate=25/1 ! "
    "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 ! h264parse ! queue ! "
    "mpegtsmux name=m ! filesink location=%s "
    "audiotestsrc num-buffers=188 samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=1 ! "
    "avenc_aac ! aacparse ! queue ! m.", ts_path);
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
  g_assert_true(g_file_get_contents(ts_path, (char **) &ts, &ts_len, NULL));
  g_assert_cmpuint(ts_len % HV_TS_PACKET, ==, 0);
}

/* Feed data in pieces of pseudo-random sizes (1..max). */
static void
feed_pieces(HvTsScan *s, const guint8 *data, gsize len, guint32 seed, gsize max)
{
  g_autoptr(GRand) r = g_rand_new_with_seed(seed);
  for (gsize off = 0; off < len;) {
    gsize want = (gsize) g_rand_int_range(r, 1, (gint32) max + 1);   /* not inside MIN: evaluated twice */
    gsize n = MIN(len - off, want);
    hv_ts_scan_feed(s, data + off, n);
    off += n;
  }
}

static HvTsScan *
scan_all(void)
{
  HvTsScan *s = hv_ts_scan_new();
  hv_ts_scan_feed(s, ts, ts_len);
  return s;
}

static void
test_scan(void)
{
  g_autoptr(HvTsScan) s = scan_all();
  g_assert_cmpuint(hv_ts_scan_bytes(s), ==, ts_len);
  g_assert_cmpuint(hv_ts_scan_whole(s), ==, ts_len);
  g_assert_cmpuint(hv_ts_scan_keyframes(s), ==, 4);
  g_assert_cmpint(hv_ts_scan_last_us(s), ==, 3960000);   /* frame 99 at 25 fps */
  /* the same keyframes and cut whatever the pieces */
  for (guint32 seed = 1; seed <= 5; seed++) {
    g_autoptr(HvTsScan) p = hv_ts_scan_new();
    feed_pieces(p, ts, ts_len, seed, seed == 1 ? 3 : 5000);
    g_assert_cmpuint(hv_ts_scan_keyframes(p), ==, 4);
    HvTsCut a, b;
    g_assert_true(hv_ts_scan_cut(s, 1500000, 2500000, &a, NULL));
    g_assert_true(hv_ts_scan_cut(p, 1500000, 2500000, &b, NULL));
    g_assert_cmpmem(&a, sizeof a, &b, sizeof b);
  }
}

static guint16
pid_at(guint64 off)
{
  g_assert_cmpuint(ts[off], ==, 0x47);
  return (guint16) (((ts[off + 1] & 0x1f) << 8) | ts[off + 2]);
}

static void
test_cut(void)
{
  g_autoptr(HvTsScan) s = scan_all();
  HvTsCut c;
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_ts_scan_cut(s, 1500000, 2500000, &c, &err));
  g_assert_no_error(err);
  g_assert_cmpint(c.start_us, ==, 1000000);
  g_assert_cmpint(c.end_us, ==, 3000000);
  g_assert_cmpuint(c.start % HV_TS_PACKET, ==, 0);
  g_assert_cmpuint(c.end % HV_TS_PACKET, ==, 0);
  g_assert_cmpuint(c.start, <, c.end);
  g_assert_cmpint(c.pat, >=, 0);
  g_assert_cmpint(c.pmt, >, c.pat);
  g_assert_cmpint(c.pmt, <, (gint64) c.start);
  g_assert_cmpuint(pid_at((guint64) c.pat), ==, 0);
  g_assert_cmpuint(pid_at((guint64) c.pmt), !=, 0);
  g_assert_true(ts[c.start + 1] & 0x40);   /* a PES starts there */
  g_assert_cmpuint(hv_ts_cut_length(&c), ==, c.end - c.start + 2 * HV_TS_PACKET);

  /* exactly on keyframes: [1 s, 2 s) is one second */
  g_assert_true(hv_ts_scan_cut(s, 1000000, 2000000, &c, NULL));
  g_assert_cmpint(c.start_us, ==, 1000000);
  g_assert_cmpint(c.end_us, ==, 2000000);
  /* from 0: the first keyframe; to beyond the end: the end of the stream */
  g_assert_true(hv_ts_scan_cut(s, 0, 60000000, &c, NULL));
  g_assert_cmpint(c.start_us, ==, 0);
  g_assert_cmpint(c.end_us, ==, -1);
  g_assert_cmpuint(c.end, ==, ts_len);

  const struct {
    gint64 from, to;
    const char *says;
  } bad[] = {
    { 2000000, 2000000, "is empty" },
    { 3000000, 1000000, "is empty" },
    { -1, 1000000, "is empty" },
    { 4000000, 5000000, "after the recording's last frame (3.960000 s)" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) e = NULL;
    g_assert_false(hv_ts_scan_cut(s, bad[i].from, bad[i].to, &c, &e));
    g_assert_error(e, HV_TS_CLIP_ERROR, HV_TS_CLIP_ERROR_RANGE);
    if (!strstr(e->message, bad[i].says))
      g_error("\"%s\" does not say \"%s\"", e->message, bad[i].says);
  }
}

static gboolean
append_sink(const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  g_byte_array_append(user_data, data, (guint) len);
  return TRUE;
}

static GByteArray *
extract(const HvTsCut *c, guint32 seed, gsize max, gsize upto)
{
  GByteArray *out = g_byte_array_new();
  g_autoptr(HvTsExtract) x = hv_ts_extract_new(c, append_sink, out);
  g_autoptr(GRand) r = g_rand_new_with_seed(seed);
  for (gsize off = 0; off < upto;) {
    gsize want = (gsize) g_rand_int_range(r, 1, (gint32) max + 1);
    gsize n = MIN(upto - off, want);
    g_assert_true(hv_ts_extract_feed(x, ts + off, n, NULL));
    off += n;
  }
  g_autoptr(GError) err = NULL;
  if (!hv_ts_extract_finish(x, &err)) {
    g_assert_error(err, HV_TS_CLIP_ERROR, HV_TS_CLIP_ERROR_SHORT);
    g_byte_array_unref(out);
    return NULL;
  }
  return out;
}

static char *
run_out(const char *const *argv)
{
  char *out = NULL;
  g_autofree char *errout = NULL;
  int status;
  g_autoptr(GError) err = NULL;
  g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &errout,
                             &status, &err));
  g_assert_no_error(err);
  if (!g_spawn_check_wait_status(status, NULL))
    g_error("%s failed: %s", argv[0], errout);
  if (errout && *errout)   /* ffmpeg -v error: any line is a decoding error */
    g_error("%s: %s", argv[0], errout);
  return out;
}

static void
test_extract(void)
{
  g_autoptr(HvTsScan) s = scan_all();
  HvTsCut c;
  g_assert_true(hv_ts_scan_cut(s, 1500000, 2500000, &c, NULL));
  g_autoptr(GByteArray) want = g_byte_array_new();
  g_byte_array_append(want, ts + c.pat, HV_TS_PACKET);
  g_byte_array_append(want, ts + c.pmt, HV_TS_PACKET);
  g_byte_array_append(want, ts + c.start, (guint) (c.end - c.start));
  for (guint32 seed = 1; seed <= 4; seed++) {
    g_autoptr(GByteArray) got = extract(&c, seed, seed == 1 ? 7 : 70000, ts_len);
    g_assert_nonnull(got);
    g_assert_cmpmem(got->data, got->len, want->data, want->len);
  }
  g_assert_cmpuint(want->len, ==, hv_ts_cut_length(&c));
  /* a stream that ends before the clip does */
  g_assert_null(extract(&c, 9, 1000, c.end - 1));

  /* the clip plays alone: its first video frame is a keyframe, its 50
   * frames are the two seconds from 1 s; the MP4 of it decodes cleanly */
  g_autofree char *clip = g_build_filename(dir, "clip.ts", NULL);
  g_assert_true(g_file_set_contents(clip, (const char *) want->data, want->len, NULL));
  const char *probe[] = { "ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=key_frame",
                          "-of", "csv=p=0", clip, NULL };
  g_autofree char *frames = run_out(probe);
  g_auto(GStrv) lines = g_strsplit(g_strstrip(frames), "\n", -1);
  g_assert_cmpuint(g_strv_length(lines), ==, 50);
  g_assert_cmpstr(lines[0], ==, "1");
  g_assert_cmpstr(lines[25], ==, "1");
  g_assert_cmpstr(lines[1], ==, "0");
  g_autofree char *mp4 = g_build_filename(dir, "clip.mp4", NULL);
  HvRemuxOptions ro = { .interrupted = TRUE };
  HvRemuxResult res;
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_ts_remux_to_mp4(clip, mp4, &ro, &res, &err));
  g_assert_no_error(err);
  g_assert_true(res.has_video && res.has_audio);
  const char *decode[] = { "ffmpeg", "-nostdin", "-v", "error", "-i", mp4, "-f", "null", "-", NULL };
  g_free(run_out(decode));
  g_unlink(clip);
  g_unlink(mp4);
}

static void
test_junk(void)
{
  g_autoptr(HvTsScan) s = hv_ts_scan_new();
  guint8 junk[4 * HV_TS_PACKET];
  memset(junk, 'x', sizeof junk);
  hv_ts_scan_feed(s, junk, sizeof junk);
  HvTsCut c;
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_ts_scan_cut(s, 0, 1000000, &c, &err));
  g_assert_error(err, HV_TS_CLIP_ERROR, HV_TS_CLIP_ERROR_STREAM);
  g_assert_nonnull(strstr(err->message, "no H.264 keyframe before offset 0, which is not an MPEG-TS packet"));
  g_assert_cmpuint(hv_ts_scan_whole(s), ==, 0);

  /* a packet without its sync byte ends what is used: the keyframes before it stay */
  g_autofree guint8 *copy = g_memdup2(ts, ts_len);
  HvTsCut all;
  g_autoptr(HvTsScan) whole = scan_all();
  g_assert_true(hv_ts_scan_cut(whole, 2000000, 2500000, &all, NULL));
  copy[all.start] = 0;   /* the 2 s keyframe's packet */
  g_autoptr(HvTsScan) b = hv_ts_scan_new();
  hv_ts_scan_feed(b, copy, ts_len);
  g_assert_cmpuint(hv_ts_scan_keyframes(b), ==, 2);
  g_assert_cmpuint(hv_ts_scan_whole(b), ==, all.start);
  g_assert_cmpuint(hv_ts_scan_bytes(b), ==, ts_len);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  gst_init(&argc, &argv);
  dir = g_dir_make_tmp("test-ts-clip-XXXXXX", NULL);
  make_ts();
  g_test_add_func("/ts-clip/scan", test_scan);
  g_test_add_func("/ts-clip/cut", test_cut);
  g_test_add_func("/ts-clip/extract", test_extract);
  g_test_add_func("/ts-clip/junk", test_junk);
  int ret = g_test_run();
  g_unlink(ts_path);
  g_rmdir(dir);
  g_free(ts_path);
  g_free(ts);
  g_free(dir);
  return ret;
}
