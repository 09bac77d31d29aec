// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-remux"
#include "ts-remux.h"

#include <gst/app/gstappsrc.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <string.h>

#define STALL_SECONDS 10

typedef struct {
  GstElement *pipeline;
  GstElement *mux;
} Remux;

/* Link one elementary stream from tsdemux through its parser into the muxer. */
static void
on_pad_added(GstElement *demux, GstPad *pad, gpointer user_data)
{
  Remux *r = user_data;
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, NULL);
  const char *media = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  const char *parser_name, *mux_pad;
  if (g_str_equal(media, "video/x-h264")) {
    parser_name = "h264parse";
    mux_pad = "video_%u";
  } else if (g_str_equal(media, "audio/mpeg")) {
    parser_name = "aacparse";
    mux_pad = "audio_%u";
  } else {
    g_message("export: skipping a stream of type %s", media);
    return;
  }
  GstElement *queue = gst_element_factory_make("queue", NULL);
  /* streams may have gaps: let one run ahead by up to 64 MiB rather than stall */
  g_object_set(queue, "max-size-time", (guint64) 0, "max-size-buffers", 0u,
               "max-size-bytes", 64u << 20, NULL);
  GstElement *parser = gst_element_factory_make(parser_name, NULL);
  gst_bin_add_many(GST_BIN(r->pipeline), queue, parser, NULL);
  gst_element_link(queue, parser);
  g_autoptr(GstPad) sink = gst_element_get_static_pad(queue, "sink");
  g_autoptr(GstPad) src = gst_element_get_static_pad(parser, "src");
  g_autoptr(GstPad) muxpad = gst_element_request_pad_simple(r->mux, mux_pad);
  if (gst_pad_link(pad, sink) != GST_PAD_LINK_OK || gst_pad_link(src, muxpad) != GST_PAD_LINK_OK)
    GST_ELEMENT_ERROR(demux, CORE, NEGOTIATION, ("cannot link %s stream to mp4mux", media), (NULL));
  gst_element_sync_state_with_parent(parser);
  gst_element_sync_state_with_parent(queue);
}

gboolean
hv_ts_remux_to_mp4(const char *ts_path, const char *mp4_path, GError **error)
{
  gst_init(NULL, NULL);
  Remux r = { 0 };
  r.pipeline = gst_pipeline_new("remux");
  GstElement *src = gst_element_factory_make("filesrc", NULL);
  GstElement *demux = gst_element_factory_make("tsdemux", NULL);
  r.mux = gst_element_factory_make("mp4mux", NULL);
  GstElement *sink = gst_element_factory_make("filesink", NULL);
  if (!src || !demux || !r.mux || !sink) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                "GStreamer elements filesrc, tsdemux, mp4mux or filesink are missing "
                "(install gstreamer1.0-plugins-good and -bad)");
    gst_object_unref(r.pipeline);
    return FALSE;
  }
  g_object_set(src, "location", ts_path, NULL);
  g_object_set(sink, "location", mp4_path, NULL);
  gst_bin_add_many(GST_BIN(r.pipeline), src, demux, r.mux, sink, NULL);
  gst_element_link(src, demux);
  gst_element_link(r.mux, sink);
  g_signal_connect(demux, "pad-added", G_CALLBACK(on_pad_added), &r);

  gboolean ok = FALSE;
  if (gst_element_set_state(r.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE, "remux pipeline did not start");
  } else {
    g_autoptr(GstBus) bus = gst_element_get_bus(r.pipeline);
    g_autoptr(GstMessage) msg = NULL;
    gint64 last = -1;
    /* A stream the muxer cannot interleave would stall forever: watch progress. */
    while (!(msg = gst_bus_timed_pop_filtered(bus, STALL_SECONDS * GST_SECOND,
                                              GST_MESSAGE_EOS | GST_MESSAGE_ERROR))) {
      gint64 pos = -1;
      if (!gst_element_query_position(src, GST_FORMAT_BYTES, &pos) || pos == last)
        break;
      last = pos;
    }
    if (!msg) {
      g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                  "remuxing to MP4 made no progress for %d s (stream cannot be interleaved)",
                  STALL_SECONDS);
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      g_autoptr(GError) gerr = NULL;
      g_autofree char *dbg = NULL;
      gst_message_parse_error(msg, &gerr, &dbg);
      g_set_error(error, gerr->domain, gerr->code, "remuxing to MP4 failed: %s", gerr->message);
    } else {
      ok = TRUE;
    }
  }
  gst_element_set_state(r.pipeline, GST_STATE_NULL);
  gst_object_unref(r.pipeline);
  return ok;
}

/* ---- fed as the stream is produced ---- */

#define REMUX_AHEAD (8u << 20)

struct _HvRemux {
  Remux       r;
  GstElement *src;
  GMutex      lock;
  GCond       cond;
  gboolean    full;       /* appsrc holds REMUX_AHEAD bytes: wait for need-data */
  GError     *error;      /* the first failure: from the bus, or a stall */
  char       *mp4_path;
};

static void
set_failed(HvRemux *x, GError *err)
{
  g_mutex_lock(&x->lock);
  if (!x->error)
    x->error = err;
  else
    g_error_free(err);
  g_cond_broadcast(&x->cond);
  g_mutex_unlock(&x->lock);
}

/* Runs in the thread that posts: an error wakes a push that waits. */
static GstBusSyncReply
on_bus_sync(GstBus *bus, GstMessage *msg, gpointer user_data)
{
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *gerr = NULL;
    gst_message_parse_error(msg, &gerr, NULL);
    set_failed(user_data, g_error_new(gerr->domain, gerr->code, "remuxing to MP4 failed: %s", gerr->message));
    g_error_free(gerr);
  }
  return GST_BUS_PASS;
}

static void
on_need_data(GstAppSrc *src, guint length, gpointer user_data)
{
  HvRemux *x = user_data;
  g_mutex_lock(&x->lock);
  x->full = FALSE;
  g_cond_broadcast(&x->cond);
  g_mutex_unlock(&x->lock);
}

static void
on_enough_data(GstAppSrc *src, gpointer user_data)
{
  HvRemux *x = user_data;
  g_mutex_lock(&x->lock);
  x->full = TRUE;
  g_mutex_unlock(&x->lock);
}

HvRemux *
hv_remux_new(const char *mp4_path, GError **error)
{
  gst_init(NULL, NULL);
  g_autoptr(HvRemux) x = g_new0(HvRemux, 1);
  g_mutex_init(&x->lock);
  g_cond_init(&x->cond);
  x->mp4_path = g_strdup(mp4_path);
  x->r.pipeline = gst_pipeline_new("remux");
  x->src = gst_element_factory_make("appsrc", NULL);
  GstElement *demux = gst_element_factory_make("tsdemux", NULL);
  x->r.mux = gst_element_factory_make("mp4mux", NULL);
  GstElement *sink = gst_element_factory_make("filesink", NULL);
  if (!x->src || !demux || !x->r.mux || !sink) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                "GStreamer elements appsrc, tsdemux, mp4mux or filesink are missing "
                "(install gstreamer1.0-plugins-base, -good and -bad)");
    GstElement *made[] = { x->src, demux, x->r.mux, sink };   /* not yet in the pipeline */
    for (guint i = 0; i < G_N_ELEMENTS(made); i++)
      if (made[i])
        gst_object_unref(gst_object_ref_sink(made[i]));
    x->src = NULL;
    return NULL;
  }
  g_autoptr(GstCaps) caps = gst_caps_new_simple("video/mpegts", "systemstream", G_TYPE_BOOLEAN, TRUE,
                                                "packetsize", G_TYPE_INT, 188, NULL);
  g_object_set(x->src, "caps", caps, "format", GST_FORMAT_BYTES, "max-bytes", (guint64) REMUX_AHEAD,
               "min-percent", 50u, "block", FALSE, NULL);   /* need-data at half: no gap while refilled */
  g_signal_connect(x->src, "need-data", G_CALLBACK(on_need_data), x);
  g_signal_connect(x->src, "enough-data", G_CALLBACK(on_enough_data), x);
  g_object_set(sink, "location", mp4_path, NULL);
  gst_bin_add_many(GST_BIN(x->r.pipeline), x->src, demux, x->r.mux, sink, NULL);
  gst_element_link(x->src, demux);
  gst_element_link(x->r.mux, sink);
  g_signal_connect(demux, "pad-added", G_CALLBACK(on_pad_added), &x->r);
  g_autoptr(GstBus) bus = gst_element_get_bus(x->r.pipeline);
  gst_bus_set_sync_handler(bus, on_bus_sync, x, NULL);
  if (gst_element_set_state(x->r.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE, "remux pipeline did not start");
    return NULL;
  }
  return g_steal_pointer(&x);
}

gboolean
hv_remux_push(HvRemux *x, const guint8 *data, gsize len)
{
  if (len == 0)   /* e.g. an empty final chunk */
    return x->error == NULL;
  g_mutex_lock(&x->lock);
  /* A stream the muxer cannot interleave stops taking data: give up on it
   * after STALL_SECONDS without room, as the file-to-file remux does. */
  gint64 deadline = g_get_monotonic_time() + STALL_SECONDS * G_TIME_SPAN_SECOND;
  while (x->full && !x->error) {
    if (!g_cond_wait_until(&x->cond, &x->lock, deadline) && x->full && !x->error)
      x->error = g_error_new(GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                             "remuxing to MP4 made no progress for %d s (stream cannot be interleaved)",
                             STALL_SECONDS);
  }
  gboolean ok = x->error == NULL;
  g_mutex_unlock(&x->lock);
  if (ok && gst_app_src_push_buffer(GST_APP_SRC(x->src), gst_buffer_new_memdup(data, len)) != GST_FLOW_OK) {
    set_failed(x, g_error_new(GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                              "remuxing to MP4 failed: the pipeline stopped taking data"));
    ok = FALSE;
  }
  return ok;
}

gboolean
hv_remux_finish(HvRemux *x, GError **error)
{
  g_mutex_lock(&x->lock);
  GError *failed = x->error ? g_error_copy(x->error) : NULL;
  g_mutex_unlock(&x->lock);
  if (!failed) {
    (void) gst_app_src_end_of_stream(GST_APP_SRC(x->src));
    g_autoptr(GstBus) bus = gst_element_get_bus(x->r.pipeline);
    guint64 last_level = G_MAXUINT64;
    gint64 last_size = -1;
    for (;;) {
      g_autoptr(GstMessage) msg = gst_bus_timed_pop_filtered(bus, STALL_SECONDS * GST_SECOND,
                                                             GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
      if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS)
        break;
      if (msg) {   /* the sync handler kept its error */
        g_mutex_lock(&x->lock);
        failed = g_error_copy(x->error);
        g_mutex_unlock(&x->lock);
        break;
      }
      /* still going while the stream drains into the muxer or the MP4 grows */
      guint64 level = gst_app_src_get_current_level_bytes(GST_APP_SRC(x->src));
      GStatBuf st;
      gint64 size = g_stat(x->mp4_path, &st) == 0 ? (gint64) st.st_size : -1;
      if (level == last_level && size == last_size) {
        failed = g_error_new(GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                             "remuxing to MP4 made no progress for %d s (stream cannot be interleaved)",
                             STALL_SECONDS);
        break;
      }
      last_level = level;
      last_size = size;
    }
  }
  gst_element_set_state(x->r.pipeline, GST_STATE_NULL);
  if (failed) {
    g_propagate_error(error, failed);
    return FALSE;
  }
  return TRUE;
}

void
hv_remux_free(HvRemux *x)
{
  if (!x)
    return;
  if (x->r.pipeline) {
    gst_element_set_state(x->r.pipeline, GST_STATE_NULL);
    g_autoptr(GstBus) bus = gst_element_get_bus(x->r.pipeline);
    gst_bus_set_sync_handler(bus, NULL, NULL, NULL);
    gst_object_unref(x->r.pipeline);
  }
  g_clear_error(&x->error);
  g_free(x->mp4_path);
  g_mutex_clear(&x->lock);
  g_cond_clear(&x->cond);
  g_free(x);
}
