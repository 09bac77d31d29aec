// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "capture-supervisor.h"
#include "capture-proto.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHECK_MS          500
/* from spawn to the start's outcome: opening devices may be slow, and the
 * process sends no heartbeat while it builds the pipeline */
#define START_TIMEOUT_US  (60 * G_USEC_PER_SEC)
/* from its last message to its exit once the session ended (devices closing) */
#define EXIT_TIMEOUT_US   (10 * G_USEC_PER_SEC)
/* fds in the capture process */
#define CHILD_SOCKET_FD   3
#define CHILD_KEY_FD      4
#define CHILD_LOCK_FD     5

G_DEFINE_QUARK(hv-capture-supervisor-error-quark, hv_capture_supervisor_error)

typedef enum { IDLE, STARTING, RUNNING, ENDING } Phase;

struct _HvCaptureSupervisor {
  const HvRecorderConfig *cfg;
  const HvDeviceKey      *key;
  int                     lock_fd;
  HvCaptureSupervisorCallbacks cb;
  gpointer                user_data;

  Phase          phase;
  guint64        seq;
  GSubprocess   *proc;
  GCancellable  *wait_cancel;
  HvCaptureLink *link;
  guint          check_timer;
  gint64         last_heard;
  gint64         last_check;      /* when on_check last ran */
  gboolean       healthy;
  HvRecorderStats stats;
  GError        *start_error;     /* a failed start, reported at exit when nothing is open */
  HvSessionResult result;
  gboolean       have_result;
  char          *lost_why;        /* why we ended the process ourselves */
  gboolean       opened;          /* it said "opening": the session's directories may exist */
  gboolean       lost_opened;     /* the last process lost had said so */

  /* haven-capture --prepare (hv_capture_supervisor_prepare) */
  GSubprocess   *prep_proc;
  GCancellable  *prep_cancel;
  gint64         prep_started;
  gint64         prep_failed_at;  /* 0: never failed */
  gboolean       prepared;
  char          *prep_why;        /* why not prepared yet */
};

char *
hv_capture_supervisor_program(void)
{
  const char *env = g_getenv("HAVEN_CAPTURE");
  if (env && *env)
    return g_strdup(env);
  g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
  if (self) {
    g_autofree char *dir = g_path_get_dirname(self);
    g_autofree char *beside = g_build_filename(dir, "haven-capture", NULL);
    if (g_file_test(beside, G_FILE_TEST_IS_EXECUTABLE))
      return g_steal_pointer(&beside);
  }
  return g_build_filename(HAVEN_LIBEXECDIR, "haven-capture", NULL);
}

HvCaptureSupervisor *
hv_capture_supervisor_new(const HvRecorderConfig *cfg, const HvDeviceKey *key, int lock_fd,
                          const HvCaptureSupervisorCallbacks *cb, gpointer user_data)
{
  HvCaptureSupervisor *s = g_new0(HvCaptureSupervisor, 1);
  s->cfg = cfg;
  s->key = key;
  s->lock_fd = lock_fd;
  s->cb = *cb;
  s->user_data = user_data;
  s->stats.start_latency_us = -1;
  s->stats.seconds_left = -1;
  return s;
}

static void
end_session(HvCaptureSupervisor *s)
{
  if (s->check_timer) {
    g_source_remove(s->check_timer);
    s->check_timer = 0;
  }
  g_clear_pointer(&s->link, hv_capture_link_free);
  g_clear_object(&s->proc);
  g_clear_object(&s->wait_cancel);
  g_clear_error(&s->start_error);
  g_clear_pointer(&s->lost_why, g_free);
  hv_session_result_clear(&s->result);
  s->have_result = FALSE;
  s->healthy = FALSE;
  s->opened = FALSE;
  s->phase = IDLE;
}

void
hv_capture_supervisor_free(HvCaptureSupervisor *s)
{
  if (!s)
    return;
  if (s->wait_cancel)
    g_cancellable_cancel(s->wait_cancel);
  end_session(s); /* closing the socket: a running capture seals its session and exits */
  if (s->prep_cancel)
    g_cancellable_cancel(s->prep_cancel);
  if (s->prep_proc)
    g_subprocess_force_exit(s->prep_proc);
  g_clear_object(&s->prep_proc);
  g_clear_object(&s->prep_cancel);
  g_free(s->prep_why);
  g_free(s);
}

/* End the process ourselves; the exit reports it lost with this reason. */
static void
kill_capture(HvCaptureSupervisor *s, const char *why)
{
  if (!s->lost_why)
    s->lost_why = g_strdup(why);
  g_warning("capture process: %s; killing it", why);
  if (s->proc)
    g_subprocess_force_exit(s->proc);
}

static gboolean
on_check(gpointer ud)
{
  HvCaptureSupervisor *s = ud;
  gint64 now = g_get_monotonic_time();
  /* havend itself was stalled (stopped, starved): what the capture process
   * sent meanwhile is still unread; count its silence from now */
  if (now - s->last_check > 4 * CHECK_MS * 1000)
    s->last_heard = MAX(s->last_heard, now);
  s->last_check = now;
  gint64 silent = now - s->last_heard;
  if (s->lost_why)
    return G_SOURCE_CONTINUE; /* already killed: its exit follows */
  if (s->phase == STARTING && silent > START_TIMEOUT_US) {
    kill_capture(s, "the capture process did not report its start within 60 s");
  } else if (s->phase == ENDING && silent > EXIT_TIMEOUT_US) {
    /* its result (if any) is in; it is only taking long to close its devices */
    kill_capture(s, "the capture process did not exit within 10 s of ending its session");
  } else if (s->phase == RUNNING && silent > HV_CAPTURE_HEARTBEAT_TIMEOUT_MS * 1000) {
    g_autofree char *t = g_strdup_printf("the capture process stopped responding (no heartbeat for %.1f s)",
                                         silent / 1e6);
    kill_capture(s, t);
  }
  return G_SOURCE_CONTINUE;
}

/* ---- the capture process's reports ---- */

static gboolean
take_result(HvCaptureSupervisor *s, GVariant *msg)
{
  HvSessionResult *r = &s->result;
  guint32 status;
  const char *fp, *reason;
  g_autoptr(GVariant) hash = g_variant_lookup_value(msg, "hash", G_VARIANT_TYPE_BYTESTRING);
  g_autoptr(GVariant) dirs = g_variant_lookup_value(msg, "dirs", G_VARIANT_TYPE_STRING_ARRAY);
  if (!g_variant_lookup(msg, "seq", "t", &r->seq) || !g_variant_lookup(msg, "status", "u", &status) ||
      !g_variant_lookup(msg, "sealed", "b", &r->sealed) || !g_variant_lookup(msg, "fingerprint", "&s", &fp) ||
      !g_variant_lookup(msg, "reason", "&s", &reason) || !g_variant_lookup(msg, "bytes", "t", &r->bytes) ||
      !hash || g_variant_get_size(hash) != HV_HASH_SIZE || !dirs ||
      g_variant_n_children(dirs) >= G_N_ELEMENTS(r->dirs) || status > G_MAXUINT8 || r->seq != s->seq) {
    hv_session_result_clear(r);
    return FALSE;
  }
  r->status = (HvSealStatus) status;
  r->fingerprint = *fp ? g_strdup(fp) : NULL;
  r->reason = *reason ? g_strdup(reason) : NULL;
  memcpy(r->seal_hash, g_variant_get_data(hash), HV_HASH_SIZE);
  for (gsize i = 0; i < g_variant_n_children(dirs); i++)
    g_variant_get_child(dirs, i, "s", &r->dirs[i]);
  if (r->sealed && !r->fingerprint)
    r->sealed = FALSE;
  return TRUE;
}

static gboolean
handle(HvCaptureSupervisor *s, const char *type, GVariant *msg)
{
  gboolean b;
  guint32 u;
  const char *t;
  if (g_str_equal(type, "heartbeat")) {
    return g_variant_lookup(msg, "bytes", "t", &s->stats.bytes_sealed) &&
           g_variant_lookup(msg, "records", "t", &s->stats.records_committed) &&
           g_variant_lookup(msg, "latency", "x", &s->stats.start_latency_us) &&
           g_variant_lookup(msg, "backlog", "t", &s->stats.backlog);
  } else if (g_str_equal(type, "opening") && s->phase == STARTING) {
    guint64 q;
    if (!g_variant_lookup(msg, "seq", "t", &q) || q != s->seq)
      return FALSE;
    s->opened = TRUE;
  } else if (g_str_equal(type, "started") && s->phase == STARTING) {
    s->phase = RUNNING;
    if (s->cb.on_started)
      s->cb.on_started(s, NULL, TRUE, s->user_data);
  } else if (g_str_equal(type, "start-failed") && s->phase == STARTING) {
    if (!g_variant_lookup(msg, "code", "u", &u) || !g_variant_lookup(msg, "message", "&s", &t) ||
        !g_variant_lookup(msg, "active", "b", &b) || u > HV_RECORDER_ERROR_SOURCE)
      return FALSE;
    g_autoptr(GError) err = g_error_new_literal(HV_RECORDER_ERROR, (gint) u, t);
    if (b) {
      s->phase = RUNNING; /* sealing what it opened; the result follows */
      if (s->cb.on_started)
        s->cb.on_started(s, err, TRUE, s->user_data);
    } else {
      s->phase = ENDING;  /* reported when the process has exited */
      s->start_error = g_steal_pointer(&err);
    }
  } else if (g_str_equal(type, "health") && s->phase == RUNNING) {
    if (!g_variant_lookup(msg, "healthy", "b", &b) || !g_variant_lookup(msg, "why", "&s", &t))
      return FALSE;
    s->healthy = b;
    if (s->cb.on_health)
      s->cb.on_health(s, b, *t ? t : NULL, s->user_data);
  } else if (g_str_equal(type, "fault") && s->phase == RUNNING) {
    if (!g_variant_lookup(msg, "class", "u", &u) || !g_variant_lookup(msg, "active", "b", &b) ||
        !g_variant_lookup(msg, "why", "&s", &t) || u == HV_FAULT_NONE || u > HV_FAULT_KEYS)
      return FALSE;
    if (s->cb.on_fault)
      s->cb.on_fault(s, (HvFaultClass) u, b, t, s->user_data);
  } else if (g_str_equal(type, "space") && s->phase == RUNNING) {
    gint64 left;
    if (!g_variant_lookup(msg, "seconds-left", "x", &left) || !g_variant_lookup(msg, "dir", "&s", &t) || left < -1)
      return FALSE;
    if (s->cb.on_space)
      s->cb.on_space(s, left, *t ? t : NULL, s->user_data);
  } else if (g_str_equal(type, "finished") && s->phase == RUNNING) {
    if (!take_result(s, msg))
      return FALSE;
    s->have_result = TRUE;
    s->healthy = FALSE;
    s->phase = ENDING;    /* reported when the process has exited */
  } else {
    return FALSE;
  }
  return TRUE;
}

static void
on_message(HvCaptureLink *link, const char *type, GVariant *msg, gpointer ud)
{
  HvCaptureSupervisor *s = ud;
  s->last_heard = g_get_monotonic_time();
  if (!handle(s, type, msg)) {
    g_autofree char *t = g_strdup_printf("the capture process sent a malformed or unexpected '%s'", type);
    kill_capture(s, t);
  }
}

static void
on_closed(HvCaptureLink *link, const GError *error, gpointer ud)
{
  HvCaptureSupervisor *s = ud;
  if (error) {
    g_autofree char *t = g_strdup_printf("capture protocol: %s", error->message);
    kill_capture(s, t);
  }
  /* plain EOF: the exit follows (or the heartbeat check ends a lingering process) */
}

static char *
describe_exit(GSubprocess *p)
{
  if (g_subprocess_get_if_signaled(p)) {
    int sig = g_subprocess_get_term_sig(p);
    return g_strdup_printf("the capture process was killed by signal %d (%s)", sig, g_strsignal(sig));
  }
  return g_strdup_printf("the capture process exited with status %d without a sealed result",
                         g_subprocess_get_exit_status(p));
}

static void
on_capture_exit(GObject *obj, GAsyncResult *res, gpointer ud)
{
  g_autoptr(GError) err = NULL;
  if (!g_subprocess_wait_finish(G_SUBPROCESS(obj), res, &err) &&
      g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the supervisor is gone */
  HvCaptureSupervisor *s = ud;
  if (G_SUBPROCESS(obj) != s->proc)
    return;
  guint64 seq = s->seq;
  if (s->link) /* its last messages first: "opening", "finished", "start-failed" */
    hv_capture_link_read_pending(s->link);
  if (s->have_result) {
    if (!g_subprocess_get_successful(s->proc)) {
      g_autofree char *t = describe_exit(s->proc);
      g_warning("%s after it sealed session sequence %" G_GUINT64_FORMAT, t, seq);
    }
    HvSessionResult r = s->result;
    memset(&s->result, 0, sizeof s->result);
    s->have_result = FALSE;
    end_session(s);
    if (s->cb.on_finished)
      s->cb.on_finished(s, &r, s->user_data);
    hv_session_result_clear(&r);
  } else if (s->start_error) {
    g_autoptr(GError) e = g_steal_pointer(&s->start_error);
    end_session(s);
    if (s->cb.on_started)
      s->cb.on_started(s, e, FALSE, s->user_data);
  } else {
    /* also while starting: it may have written a header before it died */
    g_autofree char *why = s->lost_why ? g_steal_pointer(&s->lost_why) : describe_exit(s->proc);
    s->lost_opened = s->opened || s->phase == RUNNING;
    end_session(s);
    if (s->cb.on_lost)
      s->cb.on_lost(s, seq, why, s->user_data);
  }
}

/* ---- the capture engine's warm-up ---- */

static void
on_prepare_exit(GObject *obj, GAsyncResult *res, gpointer ud)
{
  g_autoptr(GError) err = NULL;
  if (!g_subprocess_wait_finish(G_SUBPROCESS(obj), res, &err) &&
      g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the supervisor is gone */
  HvCaptureSupervisor *s = ud;
  double took = (g_get_monotonic_time() - s->prep_started) / 1e6;
  g_free(s->prep_why);
  if (g_subprocess_get_successful(s->prep_proc)) {
    s->prepared = TRUE;
    s->prep_why = NULL;
    g_message("capture engine ready: haven-capture --prepare took %.1f s", took);
  } else {
    g_autofree char *how = g_subprocess_get_if_signaled(s->prep_proc)
                               ? g_strdup_printf("was killed by signal %d", g_subprocess_get_term_sig(s->prep_proc))
                               : g_strdup_printf("exited with status %d", g_subprocess_get_exit_status(s->prep_proc));
    s->prep_failed_at = g_get_monotonic_time();
    s->prep_why = g_strdup_printf("capture engine: haven-capture --prepare %s after %.1f s (see the journal); "
                                  "retried every 30 s", how, took);
    g_warning("%s", s->prep_why);
  }
  g_clear_object(&s->prep_proc);
  g_clear_object(&s->prep_cancel);
}

void
hv_capture_supervisor_prepare(HvCaptureSupervisor *s)
{
  if (s->prepared || s->prep_proc ||
      (s->prep_failed_at && g_get_monotonic_time() - s->prep_failed_at < 30 * G_USEC_PER_SEC))
    return;
  g_autofree char *prog = hv_capture_supervisor_program();
  const char *argv[] = { prog, "--prepare", NULL };
  g_autoptr(GError) err = NULL;
  s->prep_started = g_get_monotonic_time();
  s->prep_proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_NONE, &err);
  g_free(s->prep_why);
  if (!s->prep_proc) {
    s->prep_failed_at = g_get_monotonic_time();
    s->prep_why = g_strdup_printf("capture engine: %s cannot be started: %s", prog, err->message);
    return;
  }
  s->prep_why = g_strdup("capture engine: still loading GStreamer's plugins (haven-capture --prepare)");
  s->prep_cancel = g_cancellable_new();
  g_subprocess_wait_async(s->prep_proc, s->prep_cancel, on_prepare_exit, s);
}

const char *
hv_capture_supervisor_not_ready(HvCaptureSupervisor *s)
{
  return s->prepared || !s->prep_failed_at ? NULL : s->prep_why;
}

gboolean
hv_capture_supervisor_lost_after_opening(HvCaptureSupervisor *s)
{
  return s->lost_opened;
}

const char *
hv_capture_supervisor_engine_state(HvCaptureSupervisor *s)
{
  return s->prepared ? "ready" : s->prep_failed_at ? s->prep_why : s->prep_proc ? "preparing" : "not prepared";
}

/* ---- API ---- */

static gboolean
spawn(HvCaptureSupervisor *s, GError **error)
{
  int sv[2], kp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    g_set_error(error, HV_CAPTURE_SUPERVISOR_ERROR, HV_CAPTURE_SUPERVISOR_ERROR_SPAWN, "socketpair: %s",
                g_strerror(errno));
    return FALSE;
  }
  if (pipe2(kp, O_CLOEXEC) < 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    g_set_error(error, HV_CAPTURE_SUPERVISOR_ERROR, HV_CAPTURE_SUPERVISOR_ERROR_SPAWN, "pipe: %s", g_strerror(e));
    return FALSE;
  }
  /* the key: 64 bytes, far below the pipe's buffer; the pipe is read once */
  ssize_t w = write(kp[1], s->key->sk, HV_DEVICE_SK_SIZE);
  int we = errno;
  close(kp[1]);
  if (w != HV_DEVICE_SK_SIZE) {
    close(kp[0]);
    close(sv[0]);
    close(sv[1]);
    g_set_error(error, HV_CAPTURE_SUPERVISOR_ERROR, HV_CAPTURE_SUPERVISOR_ERROR_SPAWN,
                "device key not handed over: %s", w < 0 ? g_strerror(we) : "short write");
    return FALSE;
  }
  g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_fd(l, sv[1], CHILD_SOCKET_FD);
  g_subprocess_launcher_take_fd(l, kp[0], CHILD_KEY_FD);
  int lock = s->lock_fd >= 0 ? fcntl(s->lock_fd, F_DUPFD_CLOEXEC, 10) : -1;
  if (lock >= 0)
    g_subprocess_launcher_take_fd(l, lock, CHILD_LOCK_FD);
  g_autofree char *prog = hv_capture_supervisor_program();
  g_autofree char *sock_arg = g_strdup_printf("--socket-fd=%d", CHILD_SOCKET_FD);
  g_autofree char *key_arg = g_strdup_printf("--key-fd=%d", CHILD_KEY_FD);
  g_autofree char *lock_arg = g_strdup_printf("--lock-fd=%d", CHILD_LOCK_FD);
  const char *argv[] = { prog, sock_arg, key_arg, lock >= 0 ? lock_arg : NULL, NULL };
  g_autoptr(GError) local = NULL;
  s->proc = g_subprocess_launcher_spawnv(l, argv, &local);
  if (!s->proc) {
    close(sv[0]);
    g_set_error(error, HV_CAPTURE_SUPERVISOR_ERROR, HV_CAPTURE_SUPERVISOR_ERROR_SPAWN, "%s: %s", prog,
                local->message);
    return FALSE;
  }
  HvCaptureLinkCallbacks lcb = { on_message, on_closed };
  s->link = hv_capture_link_new(sv[0], &lcb, s);
  s->wait_cancel = g_cancellable_new();
  g_subprocess_wait_async(s->proc, s->wait_cancel, on_capture_exit, s);
  return TRUE;
}

gboolean
hv_capture_supervisor_start(HvCaptureSupervisor *s, guint64 seq, const guint8 *prev_seal_hash,
                            const char *start_text, const char *const *notes, GError **error)
{
  if (s->phase != IDLE) {
    g_set_error(error, HV_CAPTURE_SUPERVISOR_ERROR, HV_CAPTURE_SUPERVISOR_ERROR_BUSY,
                "a capture process is still running");
    return FALSE;
  }
  if (!spawn(s, error))
    return FALSE;
  s->seq = seq;
  s->phase = STARTING;
  s->healthy = FALSE;
  memset(&s->stats, 0, sizeof s->stats);
  s->stats.start_latency_us = -1;
  s->stats.seconds_left = -1;
  s->last_heard = s->last_check = g_get_monotonic_time();
  s->check_timer = g_timeout_add(CHECK_MS, on_check, s);
  static const char *const none[] = { NULL };
  GVariant *msg = hv_capture_msg_new(
      "start", "config", hv_capture_config_to_variant(s->cfg), "seq", g_variant_new_uint64(seq), "prev",
      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, prev_seal_hash ? prev_seal_hash : (const guint8 *) "",
                                prev_seal_hash ? HV_HASH_SIZE : 0, 1),
      "text", g_variant_new_string(start_text ? start_text : ""), "notes",
      g_variant_new_strv(notes ? notes : none, -1), NULL);
  g_autoptr(GError) err = NULL;
  if (!hv_capture_link_send(s->link, msg, &err))
    kill_capture(s, err->message); /* reported when it has exited */
  return TRUE;
}

static void
send_or_kill(HvCaptureSupervisor *s, GVariant *msg)
{
  g_autoptr(GError) err = NULL;
  if (!s->link || !hv_capture_link_send(s->link, msg, &err)) {
    if (err)
      kill_capture(s, err->message);
    else
      g_variant_unref(g_variant_ref_sink(msg));
  }
}

void
hv_capture_supervisor_event(HvCaptureSupervisor *s, HvRecordType type, const char *text)
{
  if (s->phase != STARTING && s->phase != RUNNING)
    return;
  send_or_kill(s, hv_capture_msg_new("event", "kind", g_variant_new_uint32(type), "text",
                                     g_variant_new_string(text), NULL));
}

void
hv_capture_supervisor_stop(HvCaptureSupervisor *s, const char *reason)
{
  if (s->phase != STARTING && s->phase != RUNNING)
    return;
  send_or_kill(s, hv_capture_msg_new("stop", "reason", g_variant_new_string(reason ? reason : "stopped"), NULL));
}

gboolean hv_capture_supervisor_is_active(HvCaptureSupervisor *s) { return s->phase != IDLE; }
gboolean hv_capture_supervisor_is_healthy(HvCaptureSupervisor *s) { return s->healthy; }

void
hv_capture_supervisor_get_stats(HvCaptureSupervisor *s, HvRecorderStats *ret)
{
  *ret = s->stats;
}

GPid
hv_capture_supervisor_get_pid(HvCaptureSupervisor *s)
{
  const char *id = s->proc ? g_subprocess_get_identifier(s->proc) : NULL;
  return id ? (GPid) g_ascii_strtoll(id, NULL, 10) : 0;
}
