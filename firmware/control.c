// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "control.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQUEST_MAX 4096
#define REQUEST_TIMEOUT_S 5
#define ACCEPT_BURST 64          /* connections accepted per main-loop dispatch */
#define ACCEPT_PAUSE_MS 200      /* after an accept failure (EMFILE...) before trying again */
#define ACCEPT_LOG_INTERVAL_US (10 * G_USEC_PER_SEC)

struct _HvControl {
  GSocket             *listener;
  GSource             *accept_source;  /* NULL while paused */
  guint                accept_pause;
  char                *path;
  HvControlFunc        handler;
  HvControlRefusedFunc refused;
  gpointer             user_data;
  GQueue               clients;        /* Client*, oldest first */
  gint64               accept_logged_at;
  guint                accept_failures; /* since the last log line */
  guint                evicted;         /* since the last log line */
  gint64               evict_logged_at;
  struct _Client      *handling;        /* the client whose request the handler runs for */
};

/* One client connection: read one line without ever blocking the main loop. */
typedef struct _Client {
  HvControl         *control;
  GSocketConnection *conn;
  GCancellable      *cancel;
  GList             *link;     /* in control->clients; NULL once dropped */
  guint              timeout;
  gboolean           evicted;
  gboolean           deferred;  /* the handler answers later (HvControlPending) */
  char               buf[REQUEST_MAX];
  gsize              len;
} Client;

struct _HvControlPending {
  Client *client;
};

JsonNode *
hv_control_reply_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "ok");
  json_builder_add_boolean_value(b, FALSE);
  json_builder_set_member_name(b, "error");
  json_builder_add_string_value(b, msg);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

static char *
peer_name(GSocketConnection *conn)
{
  GSocket *sock = g_socket_connection_get_socket(conn);
  g_autoptr(GCredentials) cred = g_socket_get_credentials(sock, NULL);
  if (!cred)
    return g_strdup("unknown");
  uid_t uid = g_credentials_get_unix_user(cred, NULL);
  struct passwd *pw = getpwuid(uid);
  return pw ? g_strdup_printf("%s (uid %u)", pw->pw_name, (guint) uid) : g_strdup_printf("uid %u", (guint) uid);
}

/* Take c out of the client list: it no longer counts against the cap. */
static void
client_unlink(Client *c)
{
  if (!c->link)
    return;
  g_queue_delete_link(&c->control->clients, c->link);
  c->link = NULL;
}

/* Read and drop what the client already sent (bounded, never waits): closing
 * a socket with unread data resets it, and the peer would lose our reply. */
static void
discard_pending(Client *c)
{
  GSocket *sock = g_socket_connection_get_socket(c->conn);
  char sink[4096];
  for (guint i = 0; i < 64; i++)
    if (g_socket_receive_with_blocking(sock, sink, sizeof sink, FALSE, NULL, NULL) <= 0)
      break;
}

static void
client_free(Client *c)
{
  client_unlink(c);
  if (c->timeout)
    g_source_remove(c->timeout);
  discard_pending(c);
  (void) g_io_stream_close(G_IO_STREAM(c->conn), NULL, NULL);
  g_object_unref(c->conn);
  g_object_unref(c->cancel);
  g_free(c);
}

static void
refused(Client *c, const char *why)
{
  if (!c->control->refused)
    return;
  g_autofree char *actor = peer_name(c->conn);
  c->control->refused(actor, why, c->control->user_data);
}

/* JSON may spell NUL as \u0000; json-glib then hands out a C string cut
 * there, so a field would silently differ from what was sent. */
static gboolean
has_escaped_nul(const char *s, gsize len)
{
  for (gsize i = 0; i + 1 < len; i++) {
    if (s[i] != '\\')
      continue;
    if (s[i + 1] == 'u' && i + 6 <= len && g_ascii_strncasecmp(s + i + 2, "0000", 4) == 0)
      return TRUE;
    i++; /* skip the escaped character */
  }
  return FALSE;
}

static JsonNode *
handle_line(Client *c)
{
  if (!g_utf8_validate(c->buf, (gssize) c->len, NULL)) {
    refused(c, "request is not UTF-8 text");
    return hv_control_reply_error("request is not UTF-8 text");
  }
  if (has_escaped_nul(c->buf, c->len)) {
    refused(c, "request contains a NUL character (\\u0000)");
    return hv_control_reply_error("request contains a NUL character (\\u0000)");
  }
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) err = NULL;
  /* an empty or blank line parses, with no root at all */
  if (!json_parser_load_from_data(parser, c->buf, (gssize) c->len, &err) || !json_parser_get_root(parser) ||
      !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    /* json-glib quotes the bad string as it decoded it: escapes such as
     * "\3333" leave bytes that are not UTF-8, which the reply and the audit
     * must not carry */
    g_autofree char *msg = err ? g_utf8_make_valid(err->message, -1) : NULL;
    g_autofree char *why = g_strdup_printf("request is not a JSON object%s%s", msg ? ": " : "", msg ? msg : "");
    refused(c, why);
    return hv_control_reply_error("%s", why);
  }
  g_autofree char *actor = peer_name(c->conn);
  c->control->handling = c;
  JsonNode *r = c->control->handler(json_node_get_object(json_parser_get_root(parser)), actor,
                                    c->control->user_data);
  c->control->handling = NULL;
  if (!r && !c->deferred)
    return hv_control_reply_error("internal error: no reply");
  return r;
}

static void
reply(Client *c, JsonNode *node)
{
  g_autofree char *text = json_to_string(node, FALSE);
  g_autofree char *msg = g_strdup_printf("%s\n", text);
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(c->conn));
  g_autoptr(GError) err = NULL;
  /* the socket is non-blocking: a client that does not read loses its reply, the daemon never waits */
  if (!g_output_stream_write_all(out, msg, strlen(msg), NULL, NULL, &err))
    g_debug("control reply not delivered: %s", err->message);
}

static void
reply_error(Client *c, const char *msg)
{
  g_autoptr(JsonNode) r = hv_control_reply_error("%s", msg);
  reply(c, r);
}

static void on_read(GObject *src, GAsyncResult *res, gpointer user_data);

static void
read_more(Client *c)
{
  GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(c->conn));
  g_input_stream_read_async(in, c->buf + c->len, sizeof c->buf - c->len - 1, G_PRIORITY_DEFAULT, c->cancel,
                            on_read, c);
}

/* The read ended without a full line: closed, timed out, evicted or failed. */
static void
read_ended(Client *c, gssize n, const GError *err)
{
  if (!c->control) {
    /* the control socket was closed: nothing to answer */
  } else if (c->evicted) {
    reply_error(c, "too many control connections: the oldest pending one was dropped; try again");
  } else if (c->len == 0) {
    g_debug("control client left without a request");
  } else if (n == 0 || g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_autofree char *why = g_strdup_printf("request truncated: %s after %" G_GSIZE_FORMAT " bytes without a "
                                           "newline", n == 0 ? "connection closed" : "timed out", c->len);
    refused(c, why);
    reply_error(c, why);
  } else {
    g_debug("control client read failed: %s", err ? err->message : "?");
  }
  client_free(c);
}

static void
on_read(GObject *src, GAsyncResult *res, gpointer user_data)
{
  Client *c = user_data;
  g_autoptr(GError) err = NULL;
  gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, &err);
  if (n <= 0 || !c->control) {
    read_ended(c, n, err);
    return;
  }
  char *nl = memchr(c->buf + c->len, '\n', (gsize) n);
  c->len += (gsize) n;
  if (nl) {
    c->len = (gsize) (nl - c->buf);
    client_unlink(c); /* the request is complete: it no longer holds a slot */
    g_autoptr(JsonNode) r = handle_line(c);
    if (c->deferred)
      return; /* hv_control_pending_reply() answers and frees (the handler returned NULL) */
    reply(c, r);
    client_free(c);
  } else if (c->len >= sizeof c->buf - 1) {
    g_autofree char *why = g_strdup_printf("request longer than %d bytes", REQUEST_MAX - 1);
    refused(c, why);
    reply_error(c, why);
    client_free(c);
  } else {
    read_more(c);
  }
}

HvControlPending *
hv_control_defer(HvControl *ctl)
{
  g_return_val_if_fail(ctl && ctl->handling && !ctl->handling->deferred, NULL);
  Client *c = ctl->handling;
  c->deferred = TRUE;
  if (c->timeout) { /* the request was read in time; the answer takes what it takes */
    g_source_remove(c->timeout);
    c->timeout = 0;
  }
  HvControlPending *p = g_new0(HvControlPending, 1);
  p->client = c;
  return p;
}

void
hv_control_pending_reply(HvControlPending *p, JsonNode *node)
{
  g_return_if_fail(p && node);
  reply(p->client, node);
  client_free(p->client);
  g_free(p);
}

static gboolean
on_client_timeout(gpointer user_data)
{
  Client *c = user_data;
  c->timeout = 0;
  g_cancellable_cancel(c->cancel); /* on_read runs with CANCELLED and frees */
  return G_SOURCE_REMOVE;
}

/* At the cap, the oldest pending connection makes room for the newest: idle
 * connections cannot lock out an operator's 'haven status'. */
static void
evict_oldest(HvControl *ctl)
{
  Client *old = g_queue_peek_head(&ctl->clients);
  client_unlink(old);
  old->evicted = TRUE;
  g_cancellable_cancel(old->cancel); /* on_read replies, then frees */
  ctl->evicted++;
  gint64 now = g_get_monotonic_time();
  if (now - ctl->evict_logged_at >= ACCEPT_LOG_INTERVAL_US) {
    g_warning("control socket: more than %d connections pending; dropped %u of the oldest", HV_CONTROL_MAX_CLIENTS,
              ctl->evicted);
    ctl->evict_logged_at = now;
    ctl->evicted = 0;
  }
}

static void
add_client(HvControl *ctl, GSocket *sock)
{
  g_socket_set_blocking(sock, FALSE);
  if (g_queue_get_length(&ctl->clients) >= HV_CONTROL_MAX_CLIENTS)
    evict_oldest(ctl);
  Client *c = g_new0(Client, 1);
  c->control = ctl;
  c->conn = g_socket_connection_factory_create_connection(sock);
  c->cancel = g_cancellable_new();
  c->timeout = g_timeout_add_seconds(REQUEST_TIMEOUT_S, on_client_timeout, c);
  g_queue_push_tail(&ctl->clients, c);
  c->link = g_queue_peek_tail_link(&ctl->clients);
  read_more(c);
}

static gboolean on_accept(GSocket *sock, GIOCondition cond, gpointer user_data);

static void
accept_resume(HvControl *ctl)
{
  ctl->accept_source = g_socket_create_source(ctl->listener, G_IO_IN, NULL);
  g_source_set_callback(ctl->accept_source, G_SOURCE_FUNC(on_accept), ctl, NULL);
  g_source_attach(ctl->accept_source, NULL);
}

static gboolean
on_accept_pause_end(gpointer user_data)
{
  HvControl *ctl = user_data;
  ctl->accept_pause = 0;
  accept_resume(ctl);
  return G_SOURCE_REMOVE;
}

/* accept() failed for a reason other than "nothing pending" (EMFILE, ENFILE,
 * ENOBUFS): log at most once per interval and stop accepting for a moment
 * instead of spinning on a listener that stays readable. */
static void
accept_failed(HvControl *ctl, const GError *err)
{
  ctl->accept_failures++;
  gint64 now = g_get_monotonic_time();
  if (now - ctl->accept_logged_at >= ACCEPT_LOG_INTERVAL_US) {
    g_warning("control socket: cannot accept a connection (%u time%s in the last %d s): %s", ctl->accept_failures,
              ctl->accept_failures == 1 ? "" : "s", (int) (ACCEPT_LOG_INTERVAL_US / G_USEC_PER_SEC), err->message);
    ctl->accept_logged_at = now;
    ctl->accept_failures = 0;
  }
  /* out of descriptors: the oldest pending connection gives its own back */
  if (!g_queue_is_empty(&ctl->clients))
    evict_oldest(ctl);
  g_source_destroy(ctl->accept_source);
  g_clear_pointer(&ctl->accept_source, g_source_unref);
  ctl->accept_pause = g_timeout_add(ACCEPT_PAUSE_MS, on_accept_pause_end, ctl);
}

static gboolean
on_accept(GSocket *listener, GIOCondition cond, gpointer user_data)
{
  HvControl *ctl = user_data;
  for (guint i = 0; i < ACCEPT_BURST; i++) {
    g_autoptr(GError) err = NULL;
    g_autoptr(GSocket) sock = g_socket_accept(listener, NULL, &err);
    if (sock) {
      add_client(ctl, sock);
      continue;
    }
    if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
      return G_SOURCE_CONTINUE;
    accept_failed(ctl, err); /* destroys this source */
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* Bind the socket and give it its mode and group before anyone can connect
 * (connect() is refused until listen()): no process-wide umask change. */
static GSocket *
listen_on(const char *socket_path, const char *group, GError **error)
{
  g_autoptr(GSocket) sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                         error);
  if (!sock)
    return NULL;
  g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(socket_path);
  if (!g_socket_bind(sock, addr, FALSE, error))
    return NULL;
  if (chmod(socket_path, 0660) < 0) {
    int e = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "chmod 0660: %s", g_strerror(e));
    return NULL;
  }
  if (group) {
    struct group *gr = getgrnam(group);
    if (!gr || chown(socket_path, (uid_t) -1, gr->gr_gid) < 0)
      g_warning("control socket %s: cannot give it to group %s: %s", socket_path, group,
                gr ? g_strerror(errno) : "no such group");
  }
  g_socket_set_listen_backlog(sock, 128);
  if (!g_socket_listen(sock, error))
    return NULL;
  g_socket_set_blocking(sock, FALSE);
  return g_steal_pointer(&sock);
}

HvControl *
hv_control_new(const char *socket_path, const char *group, HvControlFunc handler, HvControlRefusedFunc on_refused,
               gpointer user_data, GError **error)
{
  g_autofree char *dir = g_path_get_dirname(socket_path);
  if (g_mkdir_with_parents(dir, 0750) < 0) {
    int e = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "control socket directory %s: %s", dir,
                g_strerror(e));
    return NULL;
  }
  (void) g_unlink(socket_path); /* a stale socket from a previous run */
  GSocket *listener = listen_on(socket_path, group, error);
  if (!listener) {
    g_prefix_error(error, "control socket %s: ", socket_path);
    (void) g_unlink(socket_path);
    return NULL;
  }
  HvControl *c = g_new0(HvControl, 1);
  c->listener = listener;
  c->path = g_strdup(socket_path);
  c->handler = handler;
  c->refused = on_refused;
  c->user_data = user_data;
  g_queue_init(&c->clients);
  accept_resume(c);
  return c;
}

void
hv_control_free(HvControl *c)
{
  if (!c)
    return;
  if (c->accept_source) {
    g_source_destroy(c->accept_source);
    g_source_unref(c->accept_source);
  }
  if (c->accept_pause)
    g_source_remove(c->accept_pause);
  /* pending clients: their reads are cancelled and free them when the loop
   * runs again; if it never does, the process is exiting anyway */
  for (GList *l = c->clients.head; l; l = l->next) {
    Client *cl = l->data;
    cl->link = NULL;
    cl->control = NULL;
    cl->evicted = FALSE;
    g_cancellable_cancel(cl->cancel);
  }
  g_queue_clear(&c->clients);
  (void) g_socket_close(c->listener, NULL);
  g_object_unref(c->listener);
  (void) g_unlink(c->path);
  g_free(c->path);
  g_free(c);
}
