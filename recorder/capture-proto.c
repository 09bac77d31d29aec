// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-capture"
#include "capture-proto.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

G_DEFINE_QUARK(hv-capture-proto-error-quark, hv_capture_proto_error)

#define HDR 4

static gboolean
msg_ok(GVariant *msg, GError **error)
{
  if (!g_variant_is_of_type(msg, G_VARIANT_TYPE_VARDICT)) {
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED,
                "capture message is of type %s, not a{sv}", g_variant_get_type_string(msg));
    return FALSE;
  }
  g_autoptr(GVariant) t = g_variant_lookup_value(msg, "type", G_VARIANT_TYPE_STRING);
  if (!t || !*g_variant_get_string(t, NULL)) {
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED,
                "capture message without a 'type' string");
    return FALSE;
  }
  return TRUE;
}

GBytes *
hv_capture_frame(GVariant *msg, GError **error)
{
  g_autoptr(GVariant) m = g_variant_ref_sink(msg);
  if (!msg_ok(m, error))
    return NULL;
  gsize n = g_variant_get_size(m);
  if (n == 0 || n > HV_CAPTURE_MSG_MAX) {
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED,
                "capture message of %" G_GSIZE_FORMAT " bytes (limit %d)", n, HV_CAPTURE_MSG_MAX);
    return NULL;
  }
  /* serialized in its own aligned buffer, then copied behind the length */
  g_autoptr(GBytes) data = g_variant_get_data_as_bytes(m);
  guint8 *buf = g_malloc(HDR + n);
  guint32 be = GUINT32_TO_BE((guint32) n);
  memcpy(buf, &be, HDR);
  memcpy(buf + HDR, g_bytes_get_data(data, NULL), n);
  return g_bytes_new_take(buf, HDR + n);
}

/* ---- reader ---- */

struct _HvCaptureReader {
  GByteArray *buf;
  gboolean    failed;
};

HvCaptureReader *
hv_capture_reader_new(void)
{
  HvCaptureReader *r = g_new0(HvCaptureReader, 1);
  r->buf = g_byte_array_new();
  return r;
}

void
hv_capture_reader_free(HvCaptureReader *r)
{
  if (!r)
    return;
  g_byte_array_unref(r->buf);
  g_free(r);
}

void
hv_capture_reader_push(HvCaptureReader *r, const guint8 *data, gsize len)
{
  if (!r->failed)
    g_byte_array_append(r->buf, data, (guint) len);
}

gboolean
hv_capture_reader_next(HvCaptureReader *r, GVariant **ret_msg, GError **error)
{
  if (r->failed) {
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED, "capture link already failed");
    return FALSE;
  }
  *ret_msg = NULL;
  if (r->buf->len < HDR)
    return TRUE;
  guint32 be;
  memcpy(&be, r->buf->data, HDR);
  guint32 n = GUINT32_FROM_BE(be);
  if (n == 0 || n > HV_CAPTURE_MSG_MAX) {
    r->failed = TRUE;
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED,
                "capture frame of %u bytes (1 to %d allowed)", n, HV_CAPTURE_MSG_MAX);
    return FALSE;
  }
  if (r->buf->len < HDR + n)
    return TRUE;
  /* untrusted bytes: GVariant checks them lazily and safely; insist on normal form */
  g_autoptr(GBytes) payload = g_bytes_new(r->buf->data + HDR, n);
  g_byte_array_remove_range(r->buf, 0, HDR + n);
  g_autoptr(GVariant) msg = g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE_VARDICT, payload, FALSE));
  if (!g_variant_is_normal_form(msg)) {
    r->failed = TRUE;
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED,
                "capture frame of %u bytes is not a well-formed a{sv}", n);
    return FALSE;
  }
  if (!msg_ok(msg, error)) {
    r->failed = TRUE;
    return FALSE;
  }
  *ret_msg = g_steal_pointer(&msg);
  return TRUE;
}

const char *
hv_capture_msg_type(GVariant *msg)
{
  const char *t = NULL;
  if (!g_variant_lookup(msg, "type", "&s", &t))
    return "";
  return t;
}

GVariant *
hv_capture_msg_new(const char *type, ...)
{
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add(&b, "{sv}", "type", g_variant_new_string(type));
  va_list ap;
  va_start(ap, type);
  const char *name;
  while ((name = va_arg(ap, const char *))) {
    GVariant *v = va_arg(ap, GVariant *);
    g_variant_builder_add(&b, "{sv}", name, v);
  }
  va_end(ap);
  return g_variant_builder_end(&b);
}

/* ---- configuration ---- */

static GVariant *
str_or_empty(const char *s)
{
  return g_variant_new_string(s ? s : "");
}

GVariant *
hv_capture_config_to_variant(const HvRecorderConfig *c)
{
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
#define ADD(name, v) g_variant_builder_add(&b, "{sv}", name, v)
  ADD("room", str_or_empty(c->room));
  GVariantBuilder vb;
  g_variant_builder_init(&vb, G_VARIANT_TYPE("a(ussu)"));
  for (guint i = 0; i < c->n_video && i < HV_MAX_CAMERAS; i++)
    g_variant_builder_add(&vb, "(ussu)", (guint32) c->video[i].kind, c->video[i].device ? c->video[i].device : "",
                          c->video[i].pattern ? c->video[i].pattern : "", c->video[i].fail_after);
  ADD("video", g_variant_builder_end(&vb));
  ADD("audio", g_variant_new("(usbu)", (guint32) c->audio.kind, c->audio.device ? c->audio.device : "",
                             c->audio.silent, c->audio.fail_after));
  ADD("layout", g_variant_new_uint32(c->layout));
  ADD("size", g_variant_new("(uuu)", c->width, c->height, c->fps));
  ADD("kbps", g_variant_new("(uu)", c->video_kbps, c->audio_kbps));
  ADD("encoder", str_or_empty(c->encoder));
  ADD("silence", g_variant_new("(du)", c->silence_db, c->silence_seconds));
  ADD("reopen-seconds", g_variant_new_uint32(c->reopen_seconds));
  ADD("roots", g_variant_new_strv((const char *const *) c->roots, -1));
  ADD("recipients", g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, c->recipients,
                                              (gsize) c->n_recipients * HV_RECIPIENT_PK_SIZE, 1));
  ADD("min-free-minutes", g_variant_new_uint32(c->min_free_minutes));
  ADD("space", g_variant_new("(uu)", c->warn_minutes, c->reserve_seconds));
  ADD("no-sync", g_variant_new_boolean(c->no_sync));
#undef ADD
  return g_variant_builder_end(&b);
}

static gboolean
member(GVariant *v, const char *name, const char *type, GVariant **ret, GError **error)
{
  *ret = g_variant_lookup_value(v, name, G_VARIANT_TYPE(type));
  if (!*ret)
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED,
                "capture configuration: '%s' missing or not of type %s", name, type);
  return *ret != NULL;
}

static char *
dup_or_null(const char *s)
{
  return *s ? g_strdup(s) : NULL;
}

gboolean
hv_capture_config_from_variant(GVariant *v, HvRecorderConfig *c, GError **error)
{
  hv_recorder_config_init(c);
  g_autoptr(GVariant) room = NULL, video = NULL, audio = NULL, layout = NULL, size = NULL, kbps = NULL;
  g_autoptr(GVariant) enc = NULL, silence = NULL, reopen = NULL, roots = NULL, rcpt = NULL, minfree = NULL;
  g_autoptr(GVariant) nosync = NULL, space = NULL;
  if (!member(v, "room", "s", &room, error) || !member(v, "video", "a(ussu)", &video, error) ||
      !member(v, "audio", "(usbu)", &audio, error) || !member(v, "layout", "u", &layout, error) ||
      !member(v, "size", "(uuu)", &size, error) || !member(v, "kbps", "(uu)", &kbps, error) ||
      !member(v, "encoder", "s", &enc, error) || !member(v, "silence", "(du)", &silence, error) ||
      !member(v, "reopen-seconds", "u", &reopen, error) || !member(v, "roots", "as", &roots, error) ||
      !member(v, "recipients", "ay", &rcpt, error) || !member(v, "min-free-minutes", "u", &minfree, error) ||
      !member(v, "space", "(uu)", &space, error) || !member(v, "no-sync", "b", &nosync, error))
    return FALSE;
#define BAD(...) do { g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED, __VA_ARGS__); return FALSE; } while (0)
  g_free(c->room);
  c->room = g_variant_dup_string(room, NULL);
  gsize nv = g_variant_n_children(video);
  if (nv < 1 || nv > HV_MAX_CAMERAS)
    BAD("capture configuration: %" G_GSIZE_FORMAT " cameras", nv);
  g_clear_pointer(&c->video[0].pattern, g_free);
  for (gsize i = 0; i < nv; i++) {
    guint32 kind, fail;
    const char *dev, *pat;
    g_variant_get_child(video, i, "(u&s&su)", &kind, &dev, &pat, &fail);
    if (kind > HV_VIDEO_LIBCAMERA)
      BAD("capture configuration: camera %" G_GSIZE_FORMAT " kind %u", i + 1, kind);
    c->video[i].kind = (HvVideoKind) kind;
    c->video[i].device = dup_or_null(dev);
    c->video[i].pattern = dup_or_null(pat);
    c->video[i].fail_after = fail;
  }
  c->n_video = (guint) nv;
  guint32 akind;
  const char *adev;
  g_variant_get(audio, "(u&sbu)", &akind, &adev, &c->audio.silent, &c->audio.fail_after);
  if (akind > HV_AUDIO_PULSE)
    BAD("capture configuration: microphone kind %u", akind);
  c->audio.kind = (HvAudioKind) akind;
  c->audio.device = dup_or_null(adev);
  guint32 lay = g_variant_get_uint32(layout);
  if (lay > HV_LAYOUT_SIDE_BY_SIDE)
    BAD("capture configuration: layout %u", lay);
  c->layout = (HvLayout) lay;
  g_variant_get(size, "(uuu)", &c->width, &c->height, &c->fps);
  g_variant_get(kbps, "(uu)", &c->video_kbps, &c->audio_kbps);
  g_free(c->encoder);
  c->encoder = g_variant_dup_string(enc, NULL);
  g_variant_get(silence, "(du)", &c->silence_db, &c->silence_seconds);
  c->reopen_seconds = g_variant_get_uint32(reopen);
  gsize nr = g_variant_n_children(roots);
  if (nr < 1 || nr > HV_MAX_ROOTS)
    BAD("capture configuration: %" G_GSIZE_FORMAT " storage roots", nr);
  for (gsize i = 0; i < nr; i++)
    g_variant_get_child(roots, i, "s", &c->roots[i]);
  gsize nb;
  const guint8 *pk = g_variant_get_fixed_array(rcpt, &nb, 1);
  if (nb % HV_RECIPIENT_PK_SIZE || nb / HV_RECIPIENT_PK_SIZE > HV_RECIPIENTS_MAX)
    BAD("capture configuration: %" G_GSIZE_FORMAT " bytes of recipient keys", nb);
  memcpy(c->recipients, pk, nb);
  c->n_recipients = (guint) (nb / HV_RECIPIENT_PK_SIZE);
  c->min_free_minutes = g_variant_get_uint32(minfree);
  g_variant_get(space, "(uu)", &c->warn_minutes, &c->reserve_seconds);
  c->no_sync = g_variant_get_boolean(nosync);
#undef BAD
  if (!hv_recorder_config_validate(c, error)) {
    g_prefix_error(error, "capture configuration: ");
    return FALSE;
  }
  return TRUE;
}

/* ---- link ---- */

struct _HvCaptureLink {
  int              fd;
  HvCaptureLinkCallbacks cb;
  gpointer         user_data;
  HvCaptureReader *reader;
  GByteArray      *out;
  guint            in_src, out_src;
  gboolean         closed;
  gboolean         peer_gone;   /* EPIPE or ECONNRESET: the peer closed (died), not a broken protocol */
};

/* The peer closed its end: for a reader, the end of the file. */
static gboolean
errno_peer_gone(int e)
{
  return e == EPIPE || e == ECONNRESET;
}

static void
link_close(HvCaptureLink *l, const GError *err)
{
  if (l->closed)
    return;
  l->closed = TRUE;
  if (l->in_src) {
    g_source_remove(l->in_src);
    l->in_src = 0;
  }
  if (l->out_src) {
    g_source_remove(l->out_src);
    l->out_src = 0;
  }
  if (l->cb.on_closed)
    l->cb.on_closed(l, err, l->user_data);
}

/* Read what the socket holds now and dispatch every whole message. FALSE
 * once the link is closed (end of file, an error, a malformed frame). */
static gboolean
read_available(HvCaptureLink *l)
{
  guint8 buf[16384];
  ssize_t n = read(l->fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return TRUE;
  if (n <= 0) {
    g_autoptr(GError) err = NULL;
    if (n < 0 && !errno_peer_gone(errno))
      g_set_error(&err, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_IO, "capture link: %s", g_strerror(errno));
    link_close(l, err);
    return FALSE;
  }
  hv_capture_reader_push(l->reader, buf, (gsize) n);
  for (;;) {
    g_autoptr(GVariant) msg = NULL;
    g_autoptr(GError) err = NULL;
    if (!hv_capture_reader_next(l->reader, &msg, &err)) {
      link_close(l, err);
      return FALSE;
    }
    if (!msg)
      return TRUE;
    if (l->cb.on_message)
      l->cb.on_message(l, hv_capture_msg_type(msg), msg, l->user_data);
    if (l->closed)
      return FALSE;
  }
}

static gboolean
on_readable(int fd, GIOCondition cond, gpointer ud)
{
  /* link_close removes this source itself (allowed while it dispatches) */
  return read_available(ud) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

void
hv_capture_link_read_pending(HvCaptureLink *l)
{
  for (guint i = 0; i < 4096 && !l->closed; i++) {
    struct pollfd p = { .fd = l->fd, .events = POLLIN };
    if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
      return;
    if (!read_available(l))
      return;
  }
}

static gboolean write_out(HvCaptureLink *l, GError **error);

static gboolean
on_writable(int fd, GIOCondition cond, gpointer ud)
{
  HvCaptureLink *l = ud;
  g_autoptr(GError) err = NULL;
  if (!write_out(l, &err)) {
    l->out_src = 0;
    link_close(l, l->peer_gone ? NULL : err);
    return G_SOURCE_REMOVE;
  }
  if (l->out->len == 0) {
    l->out_src = 0;
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* Write what the socket takes now; arm a writability watch for the rest. */
static gboolean
write_out(HvCaptureLink *l, GError **error)
{
  while (l->out->len > 0) {
    ssize_t n = send(l->fd, l->out->data, l->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n < 0) {
      l->peer_gone = errno_peer_gone(errno);
      g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_IO, "capture link: %s", g_strerror(errno));
      return FALSE;
    }
    g_byte_array_remove_range(l->out, 0, (guint) n);
  }
  if (l->out->len > 0 && !l->out_src)
    l->out_src = g_unix_fd_add(l->fd, G_IO_OUT, on_writable, l);
  return TRUE;
}

HvCaptureLink *
hv_capture_link_new(int fd, const HvCaptureLinkCallbacks *cb, gpointer user_data)
{
  HvCaptureLink *l = g_new0(HvCaptureLink, 1);
  l->fd = fd;
  l->cb = *cb;
  l->user_data = user_data;
  l->reader = hv_capture_reader_new();
  l->out = g_byte_array_new();
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    (void) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  l->in_src = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, l);
  return l;
}

void
hv_capture_link_free(HvCaptureLink *l)
{
  if (!l)
    return;
  l->cb.on_closed = NULL;
  link_close(l, NULL);
  if (l->fd >= 0)
    close(l->fd);
  hv_capture_reader_free(l->reader);
  g_byte_array_unref(l->out);
  g_free(l);
}

gboolean
hv_capture_link_send(HvCaptureLink *l, GVariant *msg, GError **error)
{
  g_autoptr(GBytes) frame = hv_capture_frame(msg, error);
  if (!frame)
    return FALSE;
  if (l->closed) {
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_IO, "capture link is closed");
    return FALSE;
  }
  gsize n;
  const guint8 *p = g_bytes_get_data(frame, &n);
  if (l->out->len + n > HV_CAPTURE_QUEUE_MAX) {
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_IO,
                "capture link: the peer has not read %u bytes", l->out->len);
    return FALSE;
  }
  g_byte_array_append(l->out, p, (guint) n);
  return write_out(l, error);
}

gboolean
hv_capture_link_flush(HvCaptureLink *l, int timeout_ms)
{
  gint64 end = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
  while (l->out->len > 0 && !l->closed) {
    if (!write_out(l, NULL))
      return FALSE;
    if (l->out->len == 0)
      break;
    gint64 left = (end - g_get_monotonic_time()) / 1000;
    if (left <= 0)
      return FALSE;
    struct pollfd p = { .fd = l->fd, .events = POLLOUT };
    if (poll(&p, 1, (int) left) < 0 && errno != EINTR)
      return FALSE;
  }
  return l->out->len == 0;
}
