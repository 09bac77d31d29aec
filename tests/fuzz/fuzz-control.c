// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the control protocol server (firmware/control.c) over a
 * real Unix socket in this process: line framing, the request size limit,
 * UTF-8 and JSON parsing, dispatch and the reply. The input is sent as a
 * client would (then the client half-closes); the oracle is the protocol's
 * promise that every non-empty request gets exactly one JSON object reply
 * with a boolean "ok", and that the server neither crashes nor stalls.
 *
 * The handler here type-checks the request the way a command handler must
 * (a non-string "command" is an error, not a NULL). havend's own handler
 * (on_control in firmware/daemon.c) needs a whole daemon; it is exercised by
 * the daemon integration tests. */
#include "control.h"
#include "fuzz-common.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static JsonNode *
handler(JsonObject *req, const char *actor, gpointer user_data)
{
  JsonNode *cmd = json_object_get_member(req, "command");
  if (!cmd || !JSON_NODE_HOLDS_VALUE(cmd) || json_node_get_value_type(cmd) != G_TYPE_STRING)
    return hv_control_reply_error("request needs a string \"command\"");
  const char *name = json_node_get_string(cmd);
  if (strlen(name) > 32)
    return hv_control_reply_error("command name too long");
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "ok");
  json_builder_add_boolean_value(b, TRUE);
  json_builder_set_member_name(b, "command");
  json_builder_add_string_value(b, name);
  json_builder_set_member_name(b, "actor");
  json_builder_add_string_value(b, actor);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

static void
check_reply(const char *buf, gsize len)
{
  if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\n', len) != buf + len - 1)
    abort(); /* not exactly one line */
  g_autoptr(JsonParser) p = json_parser_new();
  if (!json_parser_load_from_data(p, buf, (gssize) len - 1, NULL))
    abort();
  JsonNode *root = json_parser_get_root(p);
  if (!JSON_NODE_HOLDS_OBJECT(root))
    abort();
  JsonNode *ok = json_object_get_member(json_node_get_object(root), "ok");
  if (!ok || json_node_get_value_type(ok) != G_TYPE_BOOLEAN)
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static HvControl *control;
  static char *path;
  if (!control) {
    signal(SIGPIPE, SIG_IGN);
    path = g_build_filename(fuzz_scratch_dir(), "control.sock", NULL);
    control = hv_control_new(path, NULL, handler, NULL, NULL, NULL);
    if (!control)
      abort();
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
  if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    abort();

  gsize request_size = size;
  GString *got = g_string_new(NULL);
  gboolean shut = FALSE, eof = FALSE;
  gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (!eof) {
    if (!shut) {
      ssize_t n = size ? send(fd, data, size, MSG_NOSIGNAL) : 0;
      if (n > 0) {
        data += n;
        size -= (size_t) n;
      } else if (n < 0 && errno != EAGAIN) {
        size = 0; /* the server has already answered and closed */
      }
      if (size == 0) {
        shutdown(fd, SHUT_WR);
        shut = TRUE;
      }
    }
    char buf[8192];
    ssize_t r;
    while ((r = recv(fd, buf, sizeof buf, 0)) > 0)
      g_string_append_len(got, buf, r);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      eof = TRUE;
      break;
    }
    g_main_context_iteration(NULL, FALSE);
    if (g_get_monotonic_time() > deadline)
      abort(); /* the server stalled on this request */
  }
  close(fd);
  /* let the server finish its side (free the client) before the next input */
  while (g_main_context_iteration(NULL, FALSE))
    ;
  if (request_size > 0)
    check_reply(got->str, got->len); /* every request gets its one reply line */
  else if (got->len > 0)
    abort();
  g_string_free(got, TRUE);
  return 0;
}
