// SPDX-License-Identifier: GPL-2.0-or-later
/* capture-proto: frames, malformed input, the configuration round trip and
 * the link over a real socketpair. */
#include "capture-proto.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static GBytes *
frame_of(GVariant *msg)
{
  g_autoptr(GError) err = NULL;
  GBytes *b = hv_capture_frame(msg, &err);
  g_assert_no_error(err);
  return b;
}

static void
test_round_trip_split(void)
{
  g_autoptr(GBytes) f1 = frame_of(hv_capture_msg_new("heartbeat", "bytes", g_variant_new_uint64(42), NULL));
  g_autoptr(GBytes) f2 = frame_of(hv_capture_msg_new("stop", "reason", g_variant_new_string("stopped by test"), NULL));
  g_autoptr(GByteArray) all = g_byte_array_new();
  g_byte_array_append(all, g_bytes_get_data(f1, NULL), (guint) g_bytes_get_size(f1));
  g_byte_array_append(all, g_bytes_get_data(f2, NULL), (guint) g_bytes_get_size(f2));
  g_autoptr(HvCaptureReader) r = hv_capture_reader_new();
  guint got = 0;
  /* one byte at a time: every partial frame waits for the rest */
  for (guint i = 0; i < all->len; i++) {
    hv_capture_reader_push(r, all->data + i, 1);
    g_autoptr(GVariant) m = NULL;
    g_autoptr(GError) err = NULL;
    g_assert_true(hv_capture_reader_next(r, &m, &err));
    g_assert_no_error(err);
    if (!m)
      continue;
    got++;
    if (got == 1) {
      g_assert_cmpstr(hv_capture_msg_type(m), ==, "heartbeat");
      guint64 v;
      g_assert_true(g_variant_lookup(m, "bytes", "t", &v));
      g_assert_cmpuint(v, ==, 42);
      g_assert_cmpuint(i, ==, g_bytes_get_size(f1) - 1);
    } else {
      g_assert_cmpstr(hv_capture_msg_type(m), ==, "stop");
    }
  }
  g_assert_cmpuint(got, ==, 2);
}

static void
expect_malformed(const guint8 *data, gsize len)
{
  g_autoptr(HvCaptureReader) r = hv_capture_reader_new();
  hv_capture_reader_push(r, data, len);
  g_autoptr(GVariant) m = NULL;
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_capture_reader_next(r, &m, &err));
  g_assert_error(err, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED);
  g_assert_null(m);
  /* and it stays failed, whatever follows */
  g_autoptr(GBytes) ok = frame_of(hv_capture_msg_new("started", NULL));
  hv_capture_reader_push(r, g_bytes_get_data(ok, NULL), g_bytes_get_size(ok));
  g_clear_error(&err);
  g_assert_false(hv_capture_reader_next(r, &m, &err));
  g_assert_error(err, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED);
}

static void
framed(GByteArray *out, GVariant *v)
{
  g_autoptr(GVariant) s = g_variant_ref_sink(v);
  guint32 be = GUINT32_TO_BE((guint32) g_variant_get_size(s));
  g_byte_array_append(out, (guint8 *) &be, 4);
  g_autofree guint8 *p = g_malloc(g_variant_get_size(s) + 1);
  g_variant_store(s, p);
  g_byte_array_append(out, p, (guint) g_variant_get_size(s));
}

static void
test_malformed(void)
{
  /* length 0 */
  const guint8 zero[] = { 0, 0, 0, 0 };
  expect_malformed(zero, sizeof zero);
  /* a length above the bound is refused before its bytes arrive */
  const guint8 huge[] = { 0x00, 0x01, 0x00, 0x01 };
  expect_malformed(huge, sizeof huge);
  const guint8 max[] = { 0xff, 0xff, 0xff, 0xff };
  expect_malformed(max, sizeof max);
  /* garbage that is not an a{sv} in normal form */
  const guint8 garbage[] = { 0, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03 };
  expect_malformed(garbage, sizeof garbage);
  /* a well-formed a{sv} without "type" */
  g_autoptr(GByteArray) a = g_byte_array_new();
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add(&b, "{sv}", "seq", g_variant_new_uint64(1));
  framed(a, g_variant_builder_end(&b));
  expect_malformed(a->data, a->len);
  /* "type" that is not a string */
  g_autoptr(GByteArray) c = g_byte_array_new();
  g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add(&b, "{sv}", "type", g_variant_new_uint32(3));
  framed(c, g_variant_builder_end(&b));
  expect_malformed(c->data, c->len);
  /* the sender refuses the same */
  g_autoptr(GError) err = NULL;
  g_assert_null(hv_capture_frame(g_variant_new_uint32(5), &err));
  g_assert_error(err, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED);
  g_clear_error(&err);
  g_autofree char *big = g_strnfill(HV_CAPTURE_MSG_MAX, 'x');
  g_assert_null(hv_capture_frame(hv_capture_msg_new("event", "text", g_variant_new_string(big), NULL), &err));
  g_assert_error(err, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED);
}

static void
test_config_round_trip(void)
{
  HvRecorderConfig c;
  hv_recorder_config_init(&c);
  g_free(c.room);
  c.room = g_strdup("Room 2 (ground floor)");
  c.n_video = 2;
  c.video[1].kind = HV_VIDEO_V4L2;
  c.video[1].device = g_strdup("/dev/video2");
  c.audio.kind = HV_AUDIO_ALSA;
  c.audio.device = g_strdup("hw:1,0");
  c.audio.fail_after = 7;
  c.layout = HV_LAYOUT_SIDE_BY_SIDE;
  c.width = 640;
  c.height = 480;
  c.fps = 15;
  c.silence_db = -55.5;
  c.roots[0] = g_strdup("/srv/haven/a");
  c.roots[1] = g_strdup("/srv/haven/b");
  c.n_recipients = 2;
  for (guint i = 0; i < 2 * HV_RECIPIENT_PK_SIZE; i++)
    c.recipients[i] = (guint8) i;
  c.no_sync = TRUE;
  g_autoptr(GVariant) v = g_variant_ref_sink(hv_capture_config_to_variant(&c));
  HvRecorderConfig d;
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_capture_config_from_variant(v, &d, &err));
  g_assert_no_error(err);
  g_assert_cmpstr(d.room, ==, c.room);
  g_assert_cmpuint(d.n_video, ==, 2);
  g_assert_cmpint(d.video[1].kind, ==, HV_VIDEO_V4L2);
  g_assert_cmpstr(d.video[1].device, ==, "/dev/video2");
  g_assert_cmpstr(d.video[0].pattern, ==, "ball");
  g_assert_null(d.video[0].device);
  g_assert_cmpint(d.audio.kind, ==, HV_AUDIO_ALSA);
  g_assert_cmpstr(d.audio.device, ==, "hw:1,0");
  g_assert_cmpuint(d.audio.fail_after, ==, 7);
  g_assert_cmpint(d.layout, ==, HV_LAYOUT_SIDE_BY_SIDE);
  g_assert_cmpuint(d.width, ==, 640);
  g_assert_cmpuint(d.fps, ==, 15);
  g_assert_cmpfloat(d.silence_db, ==, -55.5);
  g_assert_cmpstr(d.roots[1], ==, "/srv/haven/b");
  g_assert_null(d.roots[2]);
  g_assert_cmpuint(d.n_recipients, ==, 2);
  g_assert_cmpmem(d.recipients, 2 * HV_RECIPIENT_PK_SIZE, c.recipients, 2 * HV_RECIPIENT_PK_SIZE);
  g_assert_true(d.no_sync);
  hv_recorder_config_clear(&d);

  /* a member missing, mistyped, or a value the validation refuses */
  GVariantDict dict;
  g_variant_dict_init(&dict, v);
  g_variant_dict_remove(&dict, "roots");
  g_autoptr(GVariant) no_roots = g_variant_ref_sink(g_variant_dict_end(&dict));
  g_assert_false(hv_capture_config_from_variant(no_roots, &d, &err));
  g_assert_error(err, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED);
  g_assert_nonnull(strstr(err->message, "'roots'"));
  g_clear_error(&err);
  hv_recorder_config_clear(&d);
  g_variant_dict_init(&dict, v);
  g_variant_dict_insert(&dict, "recipients", "s", "not bytes");
  g_autoptr(GVariant) bad_type = g_variant_ref_sink(g_variant_dict_end(&dict));
  g_assert_false(hv_capture_config_from_variant(bad_type, &d, &err));
  g_assert_error(err, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED);
  g_clear_error(&err);
  hv_recorder_config_clear(&d);
  g_variant_dict_init(&dict, v);
  g_variant_dict_insert(&dict, "size", "(uuu)", 7, 7, 7);
  g_autoptr(GVariant) bad_size = g_variant_ref_sink(g_variant_dict_end(&dict));
  g_assert_false(hv_capture_config_from_variant(bad_size, &d, &err));
  g_assert_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
  g_clear_error(&err);
  hv_recorder_config_clear(&d);
  g_variant_dict_init(&dict, v);
  g_variant_dict_insert_value(&dict, "recipients", g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "abc", 3, 1));
  g_autoptr(GVariant) bad_keys = g_variant_ref_sink(g_variant_dict_end(&dict));
  g_assert_false(hv_capture_config_from_variant(bad_keys, &d, &err));
  g_assert_error(err, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED);
  hv_recorder_config_clear(&d);
  hv_recorder_config_clear(&c);
}

/* ---- the link, over a socketpair ---- */

typedef struct {
  GPtrArray *types;
  gboolean   closed;
  GError    *error;
  GMainLoop *loop;
  guint      want;
} Sink;

static void
sink_message(HvCaptureLink *l, const char *type, GVariant *msg, gpointer ud)
{
  Sink *s = ud;
  g_ptr_array_add(s->types, g_strdup(type));
  if (s->types->len >= s->want)
    g_main_loop_quit(s->loop);
}

static void
sink_closed(HvCaptureLink *l, const GError *error, gpointer ud)
{
  Sink *s = ud;
  s->closed = TRUE;
  s->error = error ? g_error_copy(error) : NULL;
  g_main_loop_quit(s->loop);
}

static gboolean
give_up(gpointer ud)
{
  g_error("the link test did not finish in time");
  return G_SOURCE_REMOVE;
}

static void
test_link(void)
{
  int sv[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
  Sink a = { g_ptr_array_new_with_free_func(g_free), FALSE, NULL, g_main_loop_new(NULL, FALSE), 3 };
  Sink b = { g_ptr_array_new_with_free_func(g_free), FALSE, NULL, a.loop, 3 };
  HvCaptureLinkCallbacks cb = { sink_message, sink_closed };
  HvCaptureLink *la = hv_capture_link_new(sv[0], &cb, &a);
  HvCaptureLink *lb = hv_capture_link_new(sv[1], &cb, &b);
  guint guard = g_timeout_add_seconds(10, give_up, NULL);
  g_autoptr(GError) err = NULL;
  /* more than the socket buffer at once: the rest is queued, never blocks */
  g_autofree char *text = g_strnfill(60000, 'm');
  for (guint i = 0; i < 3; i++)
    g_assert_true(hv_capture_link_send(la, hv_capture_msg_new("event", "text", g_variant_new_string(text), NULL), &err));
  g_main_loop_run(b.loop);
  g_assert_cmpuint(b.types->len, ==, 3);
  g_assert_cmpstr(b.types->pdata[2], ==, "event");
  /* a peer that sends garbage is cut off with MALFORMED */
  const guint8 junk[] = { 0, 0, 0, 3, 1, 2, 3 };
  g_assert_cmpint(write(sv[1], junk, sizeof junk), ==, sizeof junk);
  g_main_loop_run(a.loop);
  g_assert_true(a.closed);
  g_assert_error(a.error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED);
  g_assert_false(hv_capture_link_send(la, hv_capture_msg_new("stop", NULL), &err));
  g_assert_error(err, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_IO);
  /* the peer closing is a clean close */
  hv_capture_link_free(la);
  g_main_loop_run(b.loop);
  g_assert_true(b.closed);
  g_assert_null(b.error);
  hv_capture_link_free(lb);
  g_source_remove(guard);
  g_clear_error(&a.error);
  g_ptr_array_unref(a.types);
  g_ptr_array_unref(b.types);
  g_main_loop_unref(a.loop);
}

static void
test_queue_bound(void)
{
  int sv[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
  HvCaptureLinkCallbacks cb = { NULL, NULL };
  HvCaptureLink *l = hv_capture_link_new(sv[0], &cb, NULL);
  g_autofree char *text = g_strnfill(60000, 'q');
  g_autoptr(GError) err = NULL;
  guint sent = 0;
  /* nobody reads sv[1]: the queue fills up to its bound, then sends fail */
  while (hv_capture_link_send(l, hv_capture_msg_new("event", "text", g_variant_new_string(text), NULL), &err))
    g_assert_cmpuint(++sent, <, 200);
  g_assert_error(err, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_IO);
  g_assert_cmpuint(sent, >=, HV_CAPTURE_QUEUE_MAX / 60100);
  hv_capture_link_free(l);
  close(sv[1]);
}

/* A peer that dies with data unread (havend killed while the capture
 * process reports): the socket is reset (ECONNRESET on read, EPIPE on
 * write). That is the peer gone, a clean close, not a broken protocol. */
static void
test_peer_reset(void)
{
  int sv[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
  Sink a = { g_ptr_array_new_with_free_func(g_free), FALSE, NULL, g_main_loop_new(NULL, FALSE), 1 };
  HvCaptureLinkCallbacks cb = { sink_message, sink_closed };
  HvCaptureLink *la = hv_capture_link_new(sv[0], &cb, &a);
  guint guard = g_timeout_add_seconds(10, give_up, NULL);
  g_autoptr(GError) err = NULL;
  /* more than the socket takes: part is queued behind a writability watch */
  g_autofree char *text = g_strnfill(60000, 'r');
  for (guint i = 0; i < 8; i++)
    g_assert_true(hv_capture_link_send(la, hv_capture_msg_new("event", "text", g_variant_new_string(text), NULL),
                                       &err));
  close(sv[1]);   /* the peer dies with all that unread */
  g_main_loop_run(a.loop);
  g_assert_true(a.closed);
  g_assert_no_error(a.error);
  hv_capture_link_free(la);
  g_source_remove(guard);
  g_ptr_array_unref(a.types);
  g_main_loop_unref(a.loop);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/capture-proto/round-trip-split", test_round_trip_split);
  g_test_add_func("/capture-proto/malformed", test_malformed);
  g_test_add_func("/capture-proto/config", test_config_round_trip);
  g_test_add_func("/capture-proto/link", test_link);
  g_test_add_func("/capture-proto/queue-bound", test_queue_bound);
  g_test_add_func("/capture-proto/peer-reset", test_peer_reset);
  return g_test_run();
}
