// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-remux"
#include "ts-remux.h"

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
