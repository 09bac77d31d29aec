// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ts-remux: the remux fed while export decrypts (HvRemux) writes the MP4
 * the file-to-file remux writes, whatever pieces the stream comes in; a
 * stream that is not MPEG-TS ends with an error naming the remux; freeing
 * it unfinished stops it.
 */
#include "ts-remux.h"

#include <gst/gst.h>
#include <glib/gstdio.h>
#include <string.h>

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

static void
test_streamed_equals_file(void)
{
  g_autofree char *dir = g_dir_make_tmp("haven-remux-XXXXXX", NULL);
  g_autofree char *ts = make_ts(dir);
  g_autofree char *a = g_build_filename(dir, "a.mp4", NULL);
  g_autofree char *b = g_build_filename(dir, "b.mp4", NULL);
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_ts_remux_to_mp4(ts, a, &err));
  g_assert_no_error(err);

  gchar *data;
  gsize len;
  g_assert_true(g_file_get_contents(ts, &data, &len, NULL));
  g_autoptr(HvRemux) r = hv_remux_new(b, &err);
  g_assert_no_error(err);
  /* pieces of every size, as decrypted chunks come (an empty final chunk included) */
  gsize off = 0;
  for (guint k = 0; off < len; k++) {
    gsize n = MIN(len - off, (gsize) (k * 7919) % 65537);
    g_assert_true(hv_remux_push(r, (const guint8 *) data + off, n));
    off += n;
  }
  g_assert_true(hv_remux_push(r, (const guint8 *) "", 0));
  g_assert_true(hv_remux_finish(r, &err));
  g_assert_no_error(err);
  g_free(data);
  /* the same MP4 (mp4mux stamps its creation time, so the bytes may differ there) */
  g_assert_cmpuint(file_size(a), >, 10000);
  g_assert_cmpuint(file_size(b), ==, file_size(a));
  g_unlink(a);
  g_unlink(b);
  g_unlink(ts);
  g_rmdir(dir);
}

static void
test_not_ts(void)
{
  g_autofree char *dir = g_dir_make_tmp("haven-remux-XXXXXX", NULL);
  g_autofree char *out = g_build_filename(dir, "x.mp4", NULL);
  g_autoptr(GError) err = NULL;
  g_autoptr(HvRemux) r = hv_remux_new(out, &err);
  g_assert_no_error(err);
  guint8 junk[65536];
  for (guint i = 0; i < 32; i++) {
    for (gsize k = 0; k < sizeof junk; k++)
      junk[k] = (guint8) (k * 131 + i * 7 + (k >> 8));
    if (!hv_remux_push(r, junk, sizeof junk))
      break;
  }
  g_assert_false(hv_remux_finish(r, &err));
  g_assert_nonnull(err);
  g_test_message("%s", err->message);
  g_assert_true(g_str_has_prefix(err->message, "remuxing to MP4"));
  g_unlink(out);
  g_rmdir(dir);
}

/* Freed without finishing (the verdict was INVALID): the pipeline stops. */
static void
test_free_unfinished(void)
{
  g_autofree char *dir = g_dir_make_tmp("haven-remux-XXXXXX", NULL);
  g_autofree char *ts = make_ts(dir);
  g_autofree char *out = g_build_filename(dir, "x.mp4", NULL);
  gchar *data;
  gsize len;
  g_assert_true(g_file_get_contents(ts, &data, &len, NULL));
  HvRemux *r = hv_remux_new(out, NULL);
  g_assert_nonnull(r);
  g_assert_true(hv_remux_push(r, (const guint8 *) data, len / 2));
  hv_remux_free(r);
  g_free(data);
  g_unlink(out);
  g_unlink(ts);
  g_rmdir(dir);
}

int
main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ts-remux/streamed-equals-file", test_streamed_equals_file);
  g_test_add_func("/ts-remux/not-ts", test_not_ts);
  g_test_add_func("/ts-remux/free-unfinished", test_free_unfinished);
  return g_test_run();
}
