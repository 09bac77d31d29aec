// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * haven-capture: one session's capture and sealing, in its own process.
 * havend starts it per session with a socketpair end (capture-proto.h) and a
 * pipe holding the device signing key; it runs one HvRecorder, forwards
 * health, faults, stats and the result, and sends a heartbeat every second
 * from its main loop. When havend goes away (socket EOF) or the service
 * stops (SIGTERM), it stops the recording itself and seals it INTERRUPTED.
 */
#define G_LOG_DOMAIN "haven-capture"
#include "capture-proto.h"
#include "recorder.h"

#include <errno.h>
#include <gst/gst.h>
#include <glib-unix.h>
#include <locale.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#define HEARTBEAT_MS     1000
#define FINAL_FLUSH_MS   2000

typedef struct {
  GMainLoop        *loop;
  HvCaptureLink    *link;
  HvDeviceKey      *key;
  HvRecorderConfig  cfg;
  gboolean          have_cfg;
  HvRecorder       *rec;
  gboolean          parent_gone;
} Capture;

static void
send_msg(Capture *c, GVariant *msg)
{
  g_autoptr(GError) err = NULL;
  if (c->parent_gone) {
    g_variant_unref(g_variant_ref_sink(msg));
    return;
  }
  if (!hv_capture_link_send(c->link, msg, &err))
    g_warning("not sent to havend: %s", err->message);
}

static void
finish_and_quit(Capture *c)
{
  if (!c->parent_gone)
    (void) hv_capture_link_flush(c->link, FINAL_FLUSH_MS);
  g_main_loop_quit(c->loop);
}

/* ---- recorder callbacks ---- */

static void
on_health(HvRecorder *r, gboolean healthy, const char *why, gpointer ud)
{
  send_msg(ud, hv_capture_msg_new("health", "healthy", g_variant_new_boolean(healthy), "why",
                                  g_variant_new_string(why ? why : ""), NULL));
}

static void
on_fault(HvRecorder *r, HvFaultClass cls, gboolean active, const char *why, gpointer ud)
{
  send_msg(ud, hv_capture_msg_new("fault", "class", g_variant_new_uint32(cls), "active",
                                  g_variant_new_boolean(active), "why", g_variant_new_string(why ? why : ""),
                                  NULL));
}

static void
on_space(HvRecorder *r, gint64 seconds_left, const char *dir, gpointer ud)
{
  send_msg(ud, hv_capture_msg_new("space", "seconds-left", g_variant_new_int64(seconds_left), "dir",
                                  g_variant_new_string(dir ? dir : ""), NULL));
}

static void
on_finished(HvRecorder *r, const HvSessionResult *res, gpointer ud)
{
  Capture *c = ud;
  g_message("session sequence %" G_GUINT64_FORMAT " %s%s%s", res->seq,
            res->sealed ? hv_status_name(res->status) : "UNSEALED", res->fingerprint ? ", fingerprint " : "",
            res->fingerprint ? res->fingerprint : "");
  send_msg(c, hv_capture_msg_new(
      "finished", "seq", g_variant_new_uint64(res->seq), "status", g_variant_new_uint32(res->status), "sealed",
      g_variant_new_boolean(res->sealed), "fingerprint", g_variant_new_string(res->fingerprint ? res->fingerprint : ""),
      "hash", g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, res->seal_hash, HV_HASH_SIZE, 1), "reason",
      g_variant_new_string(res->reason ? res->reason : ""), "bytes", g_variant_new_uint64(res->bytes), "dirs",
      g_variant_new_strv((const char *const *) res->dirs, -1), NULL));
  finish_and_quit(c);
}

/* ---- havend's requests ---- */

static gboolean
handle_start(Capture *c, GVariant *msg, GError **error)
{
  g_autoptr(GVariant) cfgv = g_variant_lookup_value(msg, "config", G_VARIANT_TYPE_VARDICT);
  g_autoptr(GVariant) prev = g_variant_lookup_value(msg, "prev", G_VARIANT_TYPE_BYTESTRING);
  g_autoptr(GVariant) notes = g_variant_lookup_value(msg, "notes", G_VARIANT_TYPE_STRING_ARRAY);
  guint64 seq;
  const char *text;
  if (!cfgv || !prev || !notes || !g_variant_lookup(msg, "seq", "t", &seq) ||
      !g_variant_lookup(msg, "text", "&s", &text)) {
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED,
                "start: config, seq, prev, text and notes are required");
    return FALSE;
  }
  gsize plen;
  const guint8 *p = g_variant_get_fixed_array(prev, &plen, 1);
  if (plen != 0 && plen != HV_HASH_SIZE) {
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_MALFORMED,
                "start: prev is %" G_GSIZE_FORMAT " bytes", plen);
    return FALSE;
  }
  c->have_cfg = TRUE;
  if (!hv_capture_config_from_variant(cfgv, &c->cfg, error))
    return FALSE;
  HvRecorderCallbacks cb = { on_health, on_fault, on_finished, on_space };
  c->rec = hv_recorder_new(&c->cfg, c->key, &cb, c);
  /* From here on the session's directories may come to exist: havend must
   * know it before this process can die, so that it never declares this
   * sequence unrecorded (FORMAT.md §8.5) while a copy may exist somewhere. */
  send_msg(c, hv_capture_msg_new("opening", "seq", g_variant_new_uint64(seq), NULL));
  if (!hv_capture_link_flush(c->link, FINAL_FLUSH_MS)) {
    g_set_error(error, HV_CAPTURE_PROTO_ERROR, HV_CAPTURE_PROTO_ERROR_IO,
                "start: havend did not take the 'opening' message");
    return FALSE;
  }
  g_autoptr(GError) err = NULL;
  if (!hv_recorder_start(c->rec, seq, plen ? p : NULL, text, &err)) {
    guint32 code = err->domain == HV_RECORDER_ERROR ? (guint32) err->code : HV_RECORDER_ERROR_STORAGE;
    gboolean active = hv_recorder_is_active(c->rec);
    send_msg(c, hv_capture_msg_new("start-failed", "code", g_variant_new_uint32(code), "message",
                                   g_variant_new_string(err->message), "active", g_variant_new_boolean(active),
                                   NULL));
    if (!active)
      finish_and_quit(c); /* else sealing INTERRUPTED: on_finished follows */
    return TRUE;
  }
  for (gsize i = 0; i < g_variant_n_children(notes); i++) {
    const char *n;
    g_variant_get_child(notes, i, "&s", &n);
    hv_recorder_event(c->rec, HV_EVENT_NOTE, n);
  }
  send_msg(c, hv_capture_msg_new("started", NULL));
  return TRUE;
}

static void
on_message(HvCaptureLink *link, const char *type, GVariant *msg, gpointer ud)
{
  Capture *c = ud;
  g_autoptr(GError) err = NULL;
  if (g_str_equal(type, "start") && !c->rec) {
    if (!handle_start(c, msg, &err)) {
      g_critical("havend sent a bad start: %s", err->message);
      send_msg(c, hv_capture_msg_new("start-failed", "code", g_variant_new_uint32(HV_RECORDER_ERROR_STORAGE),
                                     "message", g_variant_new_string(err->message), "active",
                                     g_variant_new_boolean(FALSE), NULL));
      finish_and_quit(c);
    }
  } else if (g_str_equal(type, "event") && c->rec) {
    guint32 kind;
    const char *text;
    if (g_variant_lookup(msg, "kind", "u", &kind) && g_variant_lookup(msg, "text", "&s", &text) &&
        (kind == HV_EVENT_NOTE || kind == HV_EVENT_MARKER || kind == HV_EVENT_FAULT) && strlen(text) <= HV_EVENT_MAX)
      hv_recorder_event(c->rec, (HvRecordType) kind, text);
    else
      g_warning("havend sent a bad event; not recorded");
  } else if (g_str_equal(type, "stop") && c->rec) {
    const char *reason = NULL;
    if (!g_variant_lookup(msg, "reason", "&s", &reason))
      reason = "stopped";
    hv_recorder_stop(c->rec, reason);
  } else {
    g_warning("unexpected message '%s' from havend; ignored", type);
  }
}

/* havend is gone (it died, or broke the protocol): the recording is not
 * left to chance; stop it and seal it here. */
static void
interrupt(Capture *c, const char *why)
{
  if (c->rec && hv_recorder_is_active(c->rec)) {
    g_warning("%s: stopping and sealing the session here", why);
    g_autofree char *reason = g_strdup_printf("%s: capture stopped and sealed by haven-capture", why);
    hv_recorder_stop_interrupted(c->rec, reason);
  } else if (!c->rec || !hv_recorder_is_active(c->rec)) {
    g_main_loop_quit(c->loop);
  }
}

static void
on_closed(HvCaptureLink *link, const GError *error, gpointer ud)
{
  Capture *c = ud;
  c->parent_gone = TRUE;
  if (error)
    g_warning("link to havend broken: %s", error->message);
  interrupt(c, error ? "havend broke the capture protocol" : "havend went away");
}

static gboolean
on_terminate(gpointer ud)
{
  interrupt(ud, "haven-capture asked to terminate");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_heartbeat(gpointer ud)
{
  Capture *c = ud;
  HvRecorderStats st = { .start_latency_us = -1 };
  if (c->rec)
    hv_recorder_get_stats(c->rec, &st);
  send_msg(c, hv_capture_msg_new("heartbeat", "bytes", g_variant_new_uint64(st.bytes_sealed), "records",
                                 g_variant_new_uint64(st.records_committed), "latency",
                                 g_variant_new_int64(st.start_latency_us), "backlog",
                                 g_variant_new_uint64(st.backlog), NULL));
  return G_SOURCE_CONTINUE;
}

/* The device signing key, from a pipe havend wrote and closed. */
static HvDeviceKey *
read_key(int fd, GError **error)
{
  g_autoptr(HvDeviceKey) key = g_new0(HvDeviceKey, 1);
  key->sk = sodium_malloc(HV_DEVICE_SK_SIZE);
  if (!key->sk) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "no memory for the device key");
    return NULL;
  }
  gsize got = 0;
  while (got < HV_DEVICE_SK_SIZE) {
    ssize_t n = read(fd, key->sk + got, HV_DEVICE_SK_SIZE - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "device key fd %d: %s", fd,
                  n < 0 ? g_strerror(errno) : "short read");
      return NULL;
    }
    got += (gsize) n;
  }
  guint8 extra;
  if (read(fd, &extra, 1) != 0) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "device key fd %d: more than a key", fd);
    return NULL;
  }
  crypto_sign_ed25519_sk_to_pk(key->pk, key->sk);
  return g_steal_pointer(&key);
}

int
main(int argc, char **argv)
{
  int sock_fd = -1, key_fd = -1, lock_fd = -1;
  gboolean prepare = FALSE;
  GOptionEntry entries[] = {
    { "prepare", 0, 0, G_OPTION_ARG_NONE, &prepare,
      "Load GStreamer's plugin registry ($GST_REGISTRY) and exit: havend runs this once at start so that a "
      "session's process finds the registry ready", NULL },
    { "socket-fd", 0, 0, G_OPTION_ARG_INT, &sock_fd, "The socket to havend", "FD" },
    { "key-fd", 0, 0, G_OPTION_ARG_INT, &key_fd, "A pipe holding the device signing key", "FD" },
    { "lock-fd", 0, 0, G_OPTION_ARG_INT, &lock_fd, "havend's state directory lock, held until exit", "FD" },
    { NULL }
  };
  /* The device key and plaintext frames are about to be in memory. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    g_printerr("haven-capture: cannot make the process non-dumpable: %s\n", g_strerror(errno));
  struct rlimit no_core = { 0, 0 };
  (void) setrlimit(RLIMIT_CORE, &no_core);
  setlocale(LC_ALL, "");
  mallopt(M_ARENA_MAX, 2);
  signal(SIGPIPE, SIG_IGN);
  g_autoptr(GOptionContext) ctx = g_option_context_new("- one Haven recording session (started by havend)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_autoptr(GError) err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    g_printerr("haven-capture: %s\n", err->message);
    return 2;
  }
  if (prepare) {
    g_autoptr(GError) gerr = NULL;
    if (!gst_init_check(NULL, NULL, &gerr)) {
      g_printerr("haven-capture: GStreamer: %s\n", gerr->message);
      return 1;
    }
    return 0;
  }
  if (sock_fd < 3 || key_fd < 3) {
    g_printerr("haven-capture: --socket-fd and --key-fd are required (havend starts this program)\n");
    return 2;
  }
  if (sodium_init() < 0) {
    g_printerr("haven-capture: libsodium failed to initialise\n");
    return 1;
  }
  Capture c = { 0 };
  c.key = read_key(key_fd, &err);
  close(key_fd);
  if (!c.key) {
    g_printerr("haven-capture: %s\n", err->message);
    return 1;
  }
  c.loop = g_main_loop_new(NULL, FALSE);
  HvCaptureLinkCallbacks lcb = { on_message, on_closed };
  c.link = hv_capture_link_new(sock_fd, &lcb, &c);
  g_unix_signal_add(SIGTERM, on_terminate, &c);
  g_unix_signal_add(SIGINT, on_terminate, &c);
  guint hb = g_timeout_add(HEARTBEAT_MS, on_heartbeat, &c);
  g_main_loop_run(c.loop);
  g_source_remove(hb);
  hv_recorder_free(c.rec);
  hv_capture_link_free(c.link);
  if (c.have_cfg)
    hv_recorder_config_clear(&c.cfg);
  hv_device_key_free(c.key);
  g_main_loop_unref(c.loop);
  if (lock_fd >= 0)
    close(lock_fd); /* last: havend's successor may take the state directory now */
  return 0;
}
