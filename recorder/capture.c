// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-capture"
#include "capture.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <math.h>
#include <string.h>

#define N_SOURCES (HV_MAX_CAMERAS + 1)
/* A stop during start-up first lets the pipeline reach PLAYING (the muxer has
 * then set up both streams; ending an input before it has caps makes
 * mpegtsmux fail), for at most this long. */
#define SETTLE_TIMEOUT (3 * GST_SECOND)

/* Commands for the control thread (never 0: GAsyncQueue refuses NULL). */
typedef enum {
  CMD_EOS = 1,     /* stop: end every input of the compositor and the audiomixer */
  CMD_DRAINED,     /* end of stream reached the appsink: close the devices, report on_eos */
  CMD_RELEASE,     /* the owner let go: close the devices, drop the pipeline, exit */
} Command;

/*
 * The pipeline's state is only ever changed on the main thread while the
 * capture opens and starts, and from then on only by the control thread,
 * one command after the other: no two threads contend for the pipeline's
 * state lock, and nothing that can wait on a streaming thread (end of
 * stream, the transition to NULL) ever runs on the main thread.
 *
 * Shared by the HvCapture, the control thread, the streaming-thread hooks
 * (appsink callbacks, pad probes) and callbacks queued on the main context;
 * each holds a reference. This is also the HvCaptureRelease handle.
 */
typedef struct _HvCaptureRelease {
  GMutex        lock;
  GCond         cond;
  HvCapture    *capture;   /* NULL once released by its owner; written under lock on the main thread */
  gboolean      released;  /* the pipeline reached NULL and was dropped; under lock */
  GAsyncQueue  *commands;
  GMainContext *context;
  GstElement   *pipeline;  /* the one reference; dropped by the control thread */
} Control;

typedef struct {
  Control *ctl;
  guint    index;
} SourceRef;

typedef struct {
  HvCapture  *capture;
  guint       index;
  GstElement *bin;        /* NULL while lost */
  GstPad     *sink_pad;   /* request pad on compositor or audiomixer */
  gboolean    delivering;
  guint       reopen_id;
} Source;

struct _HvCapture {
  HvRecorderConfig   cfg;        /* shallow copy; strings owned by the caller */
  HvCaptureCallbacks cb;
  gpointer           user_data;
  GMainContext      *context;
  Control           *ctl;
  GstElement        *pipeline;   /* borrowed from ctl */
  GstElement        *comp;
  GstElement        *amix;
  guint              bus_watch;
  Source             sources[N_SOURCES];
  const char        *encoder;
  gboolean           stopping;
};

const char *
hv_capture_source_name(guint index)
{
  static const char *names[] = { "camera 1", "camera 2", "microphone" };
  return index < G_N_ELEMENTS(names) ? names[index] : "source";
}

static gboolean
have_element(const char *name)
{
  GstElementFactory *f = gst_element_factory_find(name);
  if (!f)
    return FALSE;
  gst_object_unref(f);
  return TRUE;
}

static char *
video_description(const HvCapture *c, guint i)
{
  const HvVideoSource *v = &c->cfg.video[i];
  g_autofree char *src = NULL;
  switch (v->kind) {
  case HV_VIDEO_V4L2:
    src = g_strdup_printf("v4l2src device=%s", v->device);
    break;
  case HV_VIDEO_LIBCAMERA:
    src = g_strdup_printf("libcamerasrc camera-name=%s", v->device);
    break;
  case HV_VIDEO_TEST:
  default:
    src = g_strdup_printf("videotestsrc is-live=true pattern=%s",
                          v->pattern ? v->pattern : (i == 0 ? "ball" : "smpte"));
    break;
  }
  g_autofree char *inject = v->fail_after
      ? g_strdup_printf(" ! identity error-after=%u", v->fail_after) : g_strdup("");
  /* The second camera is the small picture in PiP: scale it here, once. */
  guint w = c->cfg.width, h = c->cfg.height;
  if (c->cfg.layout == HV_LAYOUT_PIP && i == 1) {
    w = c->cfg.width / 4 & ~1u;
    h = c->cfg.height / 4 & ~1u;
  } else if (c->cfg.layout == HV_LAYOUT_SIDE_BY_SIDE && c->cfg.n_video == 2) {
    w = c->cfg.width / 2 & ~1u;
    h = c->cfg.height / 2 & ~1u;
  }
  return g_strdup_printf("%s%s ! videoconvert ! videoscale ! videorate ! "
                         "video/x-raw,format=I420,width=%u,height=%u,framerate=%u/1,pixel-aspect-ratio=1/1 ! "
                         "queue max-size-buffers=4 leaky=downstream", src, inject, w, h, c->cfg.fps);
}

static char *
audio_description(const HvCapture *c)
{
  const HvAudioSource *a = &c->cfg.audio;
  g_autofree char *src = NULL;
  switch (a->kind) {
  case HV_AUDIO_ALSA:
    src = g_strdup_printf("alsasrc device=%s", a->device ? a->device : "default");
    break;
  case HV_AUDIO_PULSE:
    src = a->device ? g_strdup_printf("pulsesrc device=%s", a->device) : g_strdup("pulsesrc");
    break;
  case HV_AUDIO_TEST:
  default:
    src = g_strdup_printf("audiotestsrc is-live=true wave=%s volume=0.3", a->silent ? "silence" : "sine");
    break;
  }
  g_autofree char *inject = a->fail_after
      ? g_strdup_printf(" ! identity error-after=%u", a->fail_after) : g_strdup("");
  return g_strdup_printf("%s%s ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 ! "
                         "level name=level interval=500000000 post-messages=true ! queue", src, inject);
}

/* ---- the control block ---- */

static Control *
control_ref(Control *ctl)
{
  return g_atomic_rc_box_acquire(ctl);
}

static void
control_clear(gpointer data)
{
  Control *ctl = data;
  g_assert(ctl->pipeline == NULL);
  g_async_queue_unref(ctl->commands);
  g_main_context_unref(ctl->context);
  g_cond_clear(&ctl->cond);
  g_mutex_clear(&ctl->lock);
}

static void
control_unref(gpointer ctl)
{
  g_atomic_rc_box_release_full(ctl, control_clear);
}

static void
control_send(Control *ctl, Command cmd)
{
  g_async_queue_push(ctl->commands, GINT_TO_POINTER(cmd));
}

/* The capture, or NULL once its owner released it. Main thread only. */
static HvCapture *
control_owner(Control *ctl)
{
  return ctl->capture;
}

static SourceRef *
source_ref_new(Control *ctl, guint index)
{
  SourceRef *ref = g_new0(SourceRef, 1);
  ref->ctl = control_ref(ctl);
  ref->index = index;
  return ref;
}

static void
source_ref_free(gpointer data)
{
  SourceRef *ref = data;
  control_unref(ref->ctl);
  g_free(ref);
}

/* ---- source bins ---- */

static gboolean
report_delivering(gpointer user_data)
{
  SourceRef *ref = user_data;
  HvCapture *c = control_owner(ref->ctl);
  if (!c)
    return G_SOURCE_REMOVE;
  Source *s = &c->sources[ref->index];
  if (!s->delivering && s->bin) {
    s->delivering = TRUE;
    if (c->cb.on_source)
      c->cb.on_source(s->index, TRUE, NULL, c->user_data);
  }
  return G_SOURCE_REMOVE;
}

static GstPadProbeReturn
on_first_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  SourceRef *ref = user_data;
  g_main_context_invoke_full(ref->ctl->context, G_PRIORITY_DEFAULT, report_delivering,
                             source_ref_new(ref->ctl, ref->index), source_ref_free);
  return GST_PAD_PROBE_REMOVE;
}

static void
place_video_pad(HvCapture *c, guint i, GstPad *pad)
{
  gint x = 0, y = 0;
  if (c->cfg.n_video == 2 && c->cfg.layout == HV_LAYOUT_PIP && i == 1) {
    x = (gint) (c->cfg.width - c->cfg.width / 4 - c->cfg.width / 40);
    y = (gint) (c->cfg.height - c->cfg.height / 4 - c->cfg.height / 40);
  } else if (c->cfg.n_video == 2 && c->cfg.layout == HV_LAYOUT_SIDE_BY_SIDE) {
    x = i == 0 ? 0 : (gint) (c->cfg.width / 2);
    y = (gint) (c->cfg.height / 4);
  }
  g_object_set(pad, "xpos", x, "ypos", y, "zorder", (guint) (i + 1), NULL);
}

static gboolean
add_source(HvCapture *c, guint i, GError **error)
{
  Source *s = &c->sources[i];
  g_autofree char *desc = i == HV_CAPTURE_AUDIO_INDEX ? audio_description(c) : video_description(c, i);
  g_debug("%s: %s", hv_capture_source_name(i), desc);
  GstElement *bin = gst_parse_bin_from_description(desc, TRUE, error);
  if (!bin) {
    g_prefix_error(error, "%s: ", hv_capture_source_name(i));
    return FALSE;
  }
  g_autofree char *name = g_strdup_printf("source%u", i);
  gst_element_set_name(bin, name);
  gst_bin_add(GST_BIN(c->pipeline), bin);
  GstElement *target = i == HV_CAPTURE_AUDIO_INDEX ? c->amix : c->comp;
  s->sink_pad = gst_element_request_pad_simple(target, "sink_%u");
  if (!s->sink_pad) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_PAD, "%s: no input pad available",
                hv_capture_source_name(i));
    return FALSE;
  }
  if (i != HV_CAPTURE_AUDIO_INDEX)
    place_video_pad(c, i, s->sink_pad);
  g_autoptr(GstPad) src = gst_element_get_static_pad(bin, "src");
  if (gst_pad_link(src, s->sink_pad) != GST_PAD_LINK_OK) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION, "%s: cannot link into the pipeline",
                hv_capture_source_name(i));
    return FALSE;
  }
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_first_buffer, source_ref_new(c->ctl, i),
                    source_ref_free);
  s->bin = bin;
  s->delivering = FALSE;
  return TRUE;
}

static void
remove_source(HvCapture *c, guint i)
{
  Source *s = &c->sources[i];
  if (!s->bin)
    return;
  gst_element_set_state(s->bin, GST_STATE_NULL);
  GstElement *target = i == HV_CAPTURE_AUDIO_INDEX ? c->amix : c->comp;
  gst_bin_remove(GST_BIN(c->pipeline), s->bin); /* unlinks */
  gst_element_release_request_pad(target, s->sink_pad);
  gst_object_unref(s->sink_pad);
  s->sink_pad = NULL;
  s->bin = NULL;
  s->delivering = FALSE;
}

static gboolean
reopen_source(gpointer user_data)
{
  Source *s = user_data;
  HvCapture *c = s->capture;
  g_autoptr(GError) err = NULL;
  if (c->stopping) {
    s->reopen_id = 0;
    return G_SOURCE_REMOVE;
  }
  if (add_source(c, s->index, &err) && gst_element_sync_state_with_parent(s->bin)) {
    g_message("%s: reopened", hv_capture_source_name(s->index));
    s->reopen_id = 0;
    return G_SOURCE_REMOVE;
  }
  g_debug("%s: reopen failed: %s", hv_capture_source_name(s->index), err ? err->message : "state change");
  remove_source(c, s->index);
  return G_SOURCE_CONTINUE;
}

static void
source_failed(HvCapture *c, guint i, const char *why)
{
  Source *s = &c->sources[i];
  if (!s->bin)
    return;
  remove_source(c, i);
  if (c->cb.on_source)
    c->cb.on_source(i, FALSE, why, c->user_data);
  if (!c->stopping && !s->reopen_id)
    s->reopen_id = g_timeout_add_seconds(c->cfg.reopen_seconds, reopen_source, s);
}

/* Which source bin (if any) an element belongs to. */
static gint
source_of(HvCapture *c, GstObject *obj)
{
  for (GstObject *o = obj; o; o = GST_OBJECT_PARENT(o))
    for (guint i = 0; i < N_SOURCES; i++)
      if (c->sources[i].bin && o == GST_OBJECT(c->sources[i].bin))
        return (gint) i;
  return -1;
}

/* Whether an element still belongs to the pipeline (not to a removed source bin). */
static gboolean
in_pipeline(HvCapture *c, GstObject *obj)
{
  g_autoptr(GstObject) o = gst_object_ref(obj);
  while (o && o != GST_OBJECT(c->pipeline)) {
    GstObject *parent = gst_object_get_parent(o);
    gst_object_unref(o);
    o = parent;
  }
  return o != NULL;
}

/* ---- bus ---- */

static void
handle_level(HvCapture *c, const GstStructure *st)
{
  const GValue *peaks = gst_structure_get_value(st, "peak");
  if (!peaks || !c->cb.on_level)
    return;
  gdouble best = -INFINITY;
  GValueArray *arr = g_value_get_boxed(peaks);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  for (guint k = 0; arr && k < arr->n_values; k++)
    best = MAX(best, g_value_get_double(g_value_array_get_nth(arr, k)));
  G_GNUC_END_IGNORE_DEPRECATIONS
  c->cb.on_level(best, c->user_data);
}

static gboolean
on_bus(GstBus *bus, GstMessage *msg, gpointer user_data)
{
  HvCapture *c = user_data;
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ERROR: {
    g_autoptr(GError) err = NULL;
    g_autofree char *dbg = NULL;
    gst_message_parse_error(msg, &err, &dbg);
    gint i = source_of(c, GST_MESSAGE_SRC(msg));
    g_autofree char *why = g_strdup_printf("%s (%s)", err->message, GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)));
    g_debug("error: %s; %s", why, dbg ? dbg : "");
    if (i < 0 && !in_pipeline(c, GST_MESSAGE_SRC(msg)))
      g_debug("ignoring an error from a source already removed: %s", why);
    else if (i >= 0)
      source_failed(c, (guint) i, why);
    else if (c->cb.on_fatal)
      c->cb.on_fatal(why, c->user_data);
    break;
  }
  case GST_MESSAGE_WARNING: {
    g_autoptr(GError) err = NULL;
    g_autofree char *dbg = NULL;
    gst_message_parse_warning(msg, &err, &dbg);
    g_warning("%s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), err->message);
    break;
  }
  case GST_MESSAGE_EOS:
    /* reported by the control thread once the devices are closed (report_drained) */
    break;
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *st = gst_message_get_structure(msg);
    if (st && gst_structure_has_name(st, "level"))
      handle_level(c, st);
    break;
  }
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

/* Streaming thread. The lock makes hv_capture_release() wait for a delivery
 * in progress, so that no on_data runs once it has returned. */
static GstFlowReturn
on_new_sample(GstAppSink *sink, gpointer user_data)
{
  Control *ctl = user_data;
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample(sink);
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer(sample);
  GstMapInfo map;
  if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
    g_mutex_lock(&ctl->lock);
    HvCapture *c = ctl->capture;
    if (c)
      c->cb.on_data(map.data, map.size, c->user_data);
    g_mutex_unlock(&ctl->lock);
    gst_buffer_unmap(buf, &map);
  }
  return GST_FLOW_OK;
}

/* Streaming thread: every byte before the end of stream went through on_new_sample. */
static void
on_appsink_eos(GstAppSink *sink, gpointer user_data)
{
  control_send(user_data, CMD_DRAINED);
}

/* ---- the control thread ---- */

/* Streaming thread of a source, on an aggregator input, once the stop began:
 * end that input instead of passing the buffer on. */
static GstPadProbeReturn
eos_instead_of_data(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (!GST_PAD_IS_EOS(pad))
    (void) gst_pad_send_event(pad, gst_event_new_eos());
  return GST_PAD_PROBE_DROP;
}

static void
end_input(const GValue *item, gpointer user_data)
{
  GstPad *pad = g_value_get_object(item);
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, eos_instead_of_data,
                    NULL, NULL);
  /* A source between two buffers (or wedged inside its device) does not hold
   * the input's stream lock: end it now. One that is pushing holds it, and
   * meets the probe with its next buffer. Never wait for it here. */
  if (GST_PAD_STREAM_TRYLOCK(pad)) {
    if (!GST_PAD_IS_EOS(pad))
      (void) gst_pad_send_event(pad, gst_event_new_eos());
    GST_PAD_STREAM_UNLOCK(pad);
  }
}

/* End of stream without gst_element_send_event() on the pipeline: that holds
 * the pipeline's state lock while it waits for each source's stream lock,
 * and a source blocked in an aggregator that waits for preroll (which needs
 * that state lock) never gives it back. Ending the aggregators' inputs drains
 * the encoders and the muxer all the same, whatever the sources do. */
static void
end_inputs(Control *ctl)
{
  static const char *aggregators[] = { "comp", "amix" };
  for (guint i = 0; i < G_N_ELEMENTS(aggregators); i++) {
    g_autoptr(GstElement) agg = gst_bin_get_by_name(GST_BIN(ctl->pipeline), aggregators[i]);
    g_autoptr(GstIterator) it = gst_element_iterate_sink_pads(agg);
    while (gst_iterator_foreach(it, end_input, NULL) == GST_ITERATOR_RESYNC)
      gst_iterator_resync(it);
  }
}

static gboolean
report_drained(gpointer user_data)
{
  HvCapture *c = control_owner(user_data);
  if (c && c->cb.on_eos)
    c->cb.on_eos(c->user_data);
  return G_SOURCE_REMOVE;
}

static gpointer
control_thread(gpointer user_data)
{
  Control *ctl = user_data;
  for (gboolean done = FALSE; !done;) {
    Command cmd = GPOINTER_TO_INT(g_async_queue_pop(ctl->commands));
    switch (cmd) {
    case CMD_EOS:
      if (ctl->pipeline) {
        /* waits on the state, never takes the state lock */
        (void) gst_element_get_state(ctl->pipeline, NULL, NULL, SETTLE_TIMEOUT);
        end_inputs(ctl);
      }
      break;
    case CMD_DRAINED:
      /* close the devices before the session is sealed, so that the next one can open them */
      gst_element_set_state(ctl->pipeline, GST_STATE_NULL);
      g_main_context_invoke_full(ctl->context, G_PRIORITY_DEFAULT, report_drained, control_ref(ctl),
                                 control_unref);
      break;
    case CMD_RELEASE:
    default:
      /* Flushes every element, sinks first: a source blocked pushing into an
       * aggregator is let go, and every device is closed. */
      if (ctl->pipeline) {
        gst_element_set_state(ctl->pipeline, GST_STATE_NULL);
        gst_clear_object(&ctl->pipeline);
      }
      done = TRUE;
      break;
    }
  }
  g_mutex_lock(&ctl->lock);
  ctl->released = TRUE;
  g_cond_broadcast(&ctl->cond);
  g_mutex_unlock(&ctl->lock);
  control_unref(ctl);
  return NULL;
}

/* ---- pipeline ---- */

static const char *
pick_encoder(const HvRecorderConfig *cfg)
{
  gboolean hw = have_element("v4l2h264enc");
  if (g_str_equal(cfg->encoder, "v4l2") || (g_str_equal(cfg->encoder, "auto") && hw))
    return "v4l2h264enc";
  return "x264enc";
}

static char *
encoder_description(const HvCapture *c)
{
  if (g_str_equal(c->encoder, "v4l2h264enc"))
    return g_strdup_printf("v4l2h264enc extra-controls=\"controls,video_bitrate=%u,h264_i_frame_period=%u\" "
                           "! video/x-h264,level=(string)4", c->cfg.video_kbps * 1000, c->cfg.fps * 2);
  return g_strdup_printf("x264enc tune=zerolatency speed-preset=ultrafast bitrate=%u key-int-max=%u "
                         "threads=2", c->cfg.video_kbps, c->cfg.fps * 2);
}

HvCapture *
hv_capture_new(const HvRecorderConfig *cfg, const char *label, const HvCaptureCallbacks *cb,
               gpointer user_data, GError **error)
{
  gst_init(NULL, NULL);
  g_autoptr(HvCapture) c = g_new0(HvCapture, 1);
  c->cfg = *cfg;
  c->cb = *cb;
  c->user_data = user_data;
  c->context = g_main_context_ref_thread_default();
  c->ctl = g_atomic_rc_box_new0(Control);
  g_mutex_init(&c->ctl->lock);
  g_cond_init(&c->ctl->cond);
  c->ctl->capture = c;
  c->ctl->commands = g_async_queue_new();
  c->ctl->context = g_main_context_ref(c->context);
  g_thread_unref(g_thread_new("haven-capture", control_thread, control_ref(c->ctl)));
  c->encoder = pick_encoder(cfg);
  if (!have_element(c->encoder)) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                "H.264 encoder %s is not installed (gstreamer1.0-plugins-ugly)", c->encoder);
    return NULL;
  }
  for (guint i = 0; i < N_SOURCES; i++) {
    c->sources[i].capture = c;
    c->sources[i].index = i;
  }
  g_autofree char *enc = encoder_description(c);
  g_autofree char *desc = g_strdup_printf(
      "compositor name=comp background=black ! capsfilter name=vcaps ! "
      "clockoverlay name=clock time-format=\"%%Y-%%m-%%d %%H:%%M:%%S\" halignment=right valignment=top "
      "shaded-background=true font-desc=\"Sans 18\" ! "
      "textoverlay name=label halignment=left valignment=bottom shaded-background=true font-desc=\"Sans 16\" ! "
      "videoconvert ! video/x-raw,format=I420 ! %s ! h264parse config-interval=-1 ! queue ! "
      "mpegtsmux name=mux alignment=7 ! appsink name=sink sync=false "
      "videotestsrc is-live=true pattern=black ! video/x-raw,format=I420,width=16,height=16,framerate=%u/1 ! "
      "comp.sink_0 "
      "audiomixer name=amix ! audio/x-raw,rate=48000,channels=1 ! %s bitrate=%u ! aacparse ! queue ! mux. "
      "audiotestsrc is-live=true wave=silence ! audio/x-raw,rate=48000,channels=1 ! amix.sink_0",
      enc, cfg->fps, have_element("avenc_aac") ? "avenc_aac" : "voaacenc", cfg->audio_kbps * 1000);
  c->pipeline = c->ctl->pipeline = gst_parse_launch(desc, error);
  if (!c->pipeline) {
    g_prefix_error(error, "building the capture pipeline: ");
    return NULL;
  }
  c->comp = gst_bin_get_by_name(GST_BIN(c->pipeline), "comp");
  c->amix = gst_bin_get_by_name(GST_BIN(c->pipeline), "amix");
  gst_object_unref(c->comp); /* the pipeline keeps them alive */
  gst_object_unref(c->amix);
  /* the keep-alive layer drives the compositor when every camera is lost; invisible */
  g_autoptr(GstPad) base = gst_element_get_static_pad(c->comp, "sink_0");
  g_object_set(base, "alpha", 0.0, "zorder", 0u, NULL);

  g_autoptr(GstElement) vcaps = gst_bin_get_by_name(GST_BIN(c->pipeline), "vcaps");
  /* I420 end to end: blending in the encoder's format saves ~35 MB of
   * AYUV frames and a conversion per frame */
  g_autoptr(GstCaps) caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420",
                                                "width", G_TYPE_INT, (gint) cfg->width,
                                                "height", G_TYPE_INT, (gint) cfg->height, "framerate",
                                                GST_TYPE_FRACTION, (gint) cfg->fps, 1, NULL);
  g_object_set(vcaps, "caps", caps, NULL);
  g_autoptr(GstElement) text = gst_bin_get_by_name(GST_BIN(c->pipeline), "label");
  /* textoverlay reads its text as pango markup: the room name is text ("&"
   * drew nothing, "<span font='60'>" would cover the picture) */
  g_autofree char *label_markup = g_markup_escape_text(label, -1);
  g_object_set(text, "text", label_markup, NULL);

  g_autoptr(GstElement) sink = gst_bin_get_by_name(GST_BIN(c->pipeline), "sink");
  GstAppSinkCallbacks acb = { .eos = on_appsink_eos, .new_sample = on_new_sample };
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &acb, control_ref(c->ctl), control_unref);

  for (guint i = 0; i < cfg->n_video; i++)
    if (!add_source(c, i, error))
      return NULL;
  if (!add_source(c, HV_CAPTURE_AUDIO_INDEX, error))
    return NULL;
  g_autoptr(GstBus) bus = gst_element_get_bus(c->pipeline);
  c->bus_watch = gst_bus_add_watch(bus, on_bus, c);
  return g_steal_pointer(&c);
}

HvCaptureRelease *
hv_capture_release(HvCapture *c)
{
  c->stopping = TRUE;
  for (guint i = 0; i < N_SOURCES; i++)
    if (c->sources[i].reopen_id)
      g_source_remove(c->sources[i].reopen_id);
  if (c->bus_watch)
    g_source_remove(c->bus_watch);
  for (guint i = 0; i < N_SOURCES; i++)
    g_clear_object(&c->sources[i].sink_pad);
  Control *ctl = c->ctl;
  g_mutex_lock(&ctl->lock); /* waits for an on_data in progress */
  ctl->capture = NULL;
  g_mutex_unlock(&ctl->lock);
  control_send(ctl, CMD_RELEASE);
  g_main_context_unref(c->context);
  g_free(c);
  return ctl;
}

gboolean
hv_capture_release_wait(HvCaptureRelease *rel, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time() + timeout_us;
  g_mutex_lock(&rel->lock);
  while (!rel->released && g_cond_wait_until(&rel->cond, &rel->lock, deadline))
    ;
  gboolean released = rel->released;
  g_mutex_unlock(&rel->lock);
  return released;
}

void
hv_capture_release_unref(HvCaptureRelease *rel)
{
  if (rel)
    control_unref(rel);
}

void
hv_capture_free(HvCapture *c)
{
  if (c)
    hv_capture_release_unref(hv_capture_release(c));
}

/* Pull the first error off the bus after a failed state change. */
static void
state_error(HvCapture *c, const char *what, GError **error)
{
  g_autoptr(GstBus) bus = gst_element_get_bus(c->pipeline);
  g_autoptr(GstMessage) msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (msg) {
    g_autoptr(GError) err = NULL;
    gst_message_parse_error(msg, &err, NULL);
    gint i = source_of(c, GST_MESSAGE_SRC(msg));
    g_set_error(error, err->domain, err->code, "%s: %s", i >= 0 ? hv_capture_source_name((guint) i) : what,
                err->message);
  } else {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE, "%s failed", what);
  }
}

gboolean
hv_capture_open(HvCapture *c, GError **error)
{
  if (gst_element_set_state(c->pipeline, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE) {
    state_error(c, "opening sources", error);
    gst_element_set_state(c->pipeline, GST_STATE_NULL);
    return FALSE;
  }
  return TRUE;
}

gboolean
hv_capture_start(HvCapture *c, GError **error)
{
  if (gst_element_set_state(c->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    state_error(c, "starting capture", error);
    gst_element_set_state(c->pipeline, GST_STATE_NULL);
    return FALSE;
  }
  return TRUE;
}

/* The sources may be wedged (a device mid-failure) or blocked downstream:
 * the main loop, and with it the buttons, must never wait for them. */
void
hv_capture_stop(HvCapture *c)
{
  c->stopping = TRUE;
  for (guint i = 0; i < N_SOURCES; i++)
    if (c->sources[i].reopen_id) {
      g_source_remove(c->sources[i].reopen_id);
      c->sources[i].reopen_id = 0;
    }
  control_send(c->ctl, CMD_EOS);
}

const char *
hv_capture_encoder(HvCapture *c)
{
  return c->encoder;
}
