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

struct _HvControl {
  GSocketService *service;
  char           *path;
  HvControlFunc   handler;
  gpointer        user_data;
};

/* One client connection: read one line without ever blocking the main loop. */
typedef struct {
  HvControl         *control;
  GSocketConnection *conn;
  GCancellable      *cancel;
  guint              timeout;
  char               buf[REQUEST_MAX];
  gsize              len;
} Client;

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

static void
client_free(Client *c)
{
  if (c->timeout)
    g_source_remove(c->timeout);
  (void) g_io_stream_close(G_IO_STREAM(c->conn), NULL, NULL);
  g_object_unref(c->conn);
  g_object_unref(c->cancel);
  g_free(c);
}

static JsonNode *
handle_line(Client *c)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) err = NULL;
  /* an empty or blank line parses to no root at all */
  if (!g_utf8_validate(c->buf, (gssize) c->len, NULL) ||
      !json_parser_load_from_data(parser, c->buf, (gssize) c->len, &err) ||
      !json_parser_get_root(parser) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
    return hv_control_reply_error("request is not a JSON object%s%s", err ? ": " : "", err ? err->message : "");
  g_autofree char *actor = peer_name(c->conn);
  return c->control->handler(json_node_get_object(json_parser_get_root(parser)), actor, c->control->user_data);
}

static void
reply(Client *c, JsonNode *node)
{
  g_autofree char *text = json_to_string(node, FALSE);
  g_autofree char *msg = g_strdup_printf("%s\n", text);
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(c->conn));
  g_autoptr(GError) err = NULL;
  /* a reply of a few hundred bytes fits the socket buffer: this does not block */
  if (!g_output_stream_write_all(out, msg, strlen(msg), NULL, NULL, &err))
    g_debug("control reply not delivered: %s", err->message);
}

static void on_read(GObject *src, GAsyncResult *res, gpointer user_data);

static void
read_more(Client *c)
{
  GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(c->conn));
  g_input_stream_read_async(in, c->buf + c->len, sizeof c->buf - c->len - 1, G_PRIORITY_DEFAULT, c->cancel,
                            on_read, c);
}

static void
on_read(GObject *src, GAsyncResult *res, gpointer user_data)
{
  Client *c = user_data;
  g_autoptr(GError) err = NULL;
  gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, &err);
  if (n <= 0) {
    if (n == 0 && c->len == 0)
      g_debug("control client left without a request");
    else if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) && n == 0) {
      g_autoptr(JsonNode) r = hv_control_reply_error("request must end with a newline");
      reply(c, r);
    }
    client_free(c);
    return;
  }
  char *nl = memchr(c->buf + c->len, '\n', (gsize) n);
  c->len += (gsize) n;
  if (nl) {
    c->len = (gsize) (nl - c->buf);
    g_autoptr(JsonNode) r = handle_line(c);
    reply(c, r);
    client_free(c);
  } else if (c->len >= sizeof c->buf - 1) {
    g_autoptr(JsonNode) r = hv_control_reply_error("request longer than %d bytes", REQUEST_MAX - 1);
    reply(c, r);
    client_free(c);
  } else {
    read_more(c);
  }
}

static gboolean
on_client_timeout(gpointer user_data)
{
  Client *c = user_data;
  c->timeout = 0;
  g_cancellable_cancel(c->cancel); /* on_read runs with CANCELLED and frees */
  return G_SOURCE_REMOVE;
}

static gboolean
on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer user_data)
{
  Client *c = g_new0(Client, 1);
  c->control = user_data;
  c->conn = g_object_ref(conn);
  c->cancel = g_cancellable_new();
  c->timeout = g_timeout_add_seconds(REQUEST_TIMEOUT_S, on_client_timeout, c);
  read_more(c);
  return TRUE;
}

HvControl *
hv_control_new(const char *socket_path, const char *group, HvControlFunc handler, gpointer user_data,
               GError **error)
{
  g_autofree char *dir = g_path_get_dirname(socket_path);
  if (g_mkdir_with_parents(dir, 0750) < 0) {
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "control socket directory %s: %s", dir,
                g_strerror(errno));
    return NULL;
  }
  (void) g_unlink(socket_path); /* a stale socket from a previous run */
  HvControl *c = g_new0(HvControl, 1);
  c->path = g_strdup(socket_path);
  c->handler = handler;
  c->user_data = user_data;
  c->service = g_socket_service_new();
  g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(socket_path);
  mode_t old = umask(0117);
  gboolean ok = g_socket_listener_add_address(G_SOCKET_LISTENER(c->service), addr, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error);
  umask(old);
  if (!ok) {
    g_prefix_error(error, "control socket %s: ", socket_path);
    hv_control_free(c);
    return NULL;
  }
  if (group) {
    struct group *gr = getgrnam(group);
    if (!gr || chown(socket_path, (uid_t) -1, gr->gr_gid) < 0)
      g_warning("control socket %s: cannot give it to group %s: %s", socket_path, group,
                gr ? g_strerror(errno) : "no such group");
  }
  g_signal_connect(c->service, "incoming", G_CALLBACK(on_incoming), c);
  g_socket_service_start(c->service);
  return c;
}

void
hv_control_free(HvControl *c)
{
  if (!c)
    return;
  g_socket_service_stop(c->service);
  g_socket_listener_close(G_SOCKET_LISTENER(c->service));
  g_object_unref(c->service);
  (void) g_unlink(c->path);
  g_free(c->path);
  g_free(c);
}
