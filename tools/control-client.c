// SPDX-License-Identifier: GPL-2.0-or-later
#include "control-client.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>

JsonNode *
hv_control_request(const char *cmd, ...)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "command");
  json_builder_add_string_value(b, cmd);
  va_list ap;
  va_start(ap, cmd);
  const char *k;
  while ((k = va_arg(ap, const char *))) {
    const char *v = va_arg(ap, const char *);
    json_builder_set_member_name(b, k);
    json_builder_add_string_value(b, v);
  }
  va_end(ap);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

JsonNode *
hv_control_call(const char *socket_path, JsonNode *request, GError **error)
{
  const char *path = socket_path ? socket_path : g_getenv("HAVEN_SOCKET");
  if (!path)
    path = HV_DEFAULT_SOCKET;
  g_autoptr(GSocketClient) client = g_socket_client_new();
  /* start and stop are answered once done: havend bounds that wait to 60 s (CONTROL_WAIT_S) */
  const char *cmd = JSON_NODE_HOLDS_OBJECT(request)
                        ? json_object_get_string_member_with_default(json_node_get_object(request), "command", "")
                        : "";
  gboolean waits = g_strcmp0(cmd, "start") == 0 || g_strcmp0(cmd, "stop") == 0;
  g_socket_client_set_timeout(client, waits ? 75 : 30);
  g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
  g_autoptr(GSocketConnection) conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, error);
  if (!conn) {
    g_prefix_error(error, "cannot reach havend at %s (is it running? are you in its group?): ", path);
    return NULL;
  }
  g_autofree char *text = json_to_string(request, FALSE);
  g_autofree char *line = g_strdup_printf("%s\n", text);
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
  if (!g_output_stream_write_all(out, line, strlen(line), NULL, NULL, error))
    return NULL;
  g_autoptr(GDataInputStream) in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
  gsize len;
  g_autofree char *reply = g_data_input_stream_read_line_utf8(in, &len, NULL, error);
  if (!reply) {
    if (error && !*error)
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED, "havend closed the connection without a reply");
    return NULL;
  }
  g_autoptr(JsonParser) p = json_parser_new();
  if (!json_parser_load_from_data(p, reply, (gssize) len, error))
    return NULL;
  return json_node_copy(json_parser_get_root(p));
}
