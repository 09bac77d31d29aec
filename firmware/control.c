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

struct _HvControl {
  GSocketService *service;
  char           *path;
  HvControlFunc   handler;
  gpointer        user_data;
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

static gboolean
on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer user_data)
{
  HvControl *c = user_data;
  GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
  g_autoptr(GDataInputStream) din = g_data_input_stream_new(in);
  g_buffered_input_stream_set_buffer_size(G_BUFFERED_INPUT_STREAM(din), REQUEST_MAX);
  g_autoptr(GError) err = NULL;
  gsize len = 0;
  /* Requests are tiny and come from local tools: a blocking read with a timeout. */
  g_socket_set_timeout(g_socket_connection_get_socket(conn), 2);
  g_autofree char *line = g_data_input_stream_read_line_utf8(din, &len, NULL, &err);
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!line || len >= REQUEST_MAX) {
    reply = hv_control_reply_error("request missing or too long");
  } else if (!json_parser_load_from_data(parser, line, (gssize) len, &err) ||
             !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    reply = hv_control_reply_error("request is not a JSON object: %s", err ? err->message : "");
  } else {
    g_autofree char *actor = peer_name(conn);
    reply = c->handler(json_node_get_object(json_parser_get_root(parser)), actor, c->user_data);
  }
  g_autofree char *text = json_to_string(reply, FALSE);
  g_autofree char *msg = g_strdup_printf("%s\n", text);
  if (!g_output_stream_write_all(out, msg, strlen(msg), NULL, NULL, &err))
    g_debug("control reply not delivered: %s", err->message);
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
