/* SPDX-License-Identifier: GPL-2.0-or-later */
/* control-client: one request to havend's control socket, one JSON reply. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define HV_DEFAULT_SOCKET "/run/haven/control.sock"

/* socket_path NULL: $HAVEN_SOCKET, else the default. Returns the reply
 * object's node, or NULL with error (daemon not running, no permission). */
JsonNode *hv_control_call(const char *socket_path, JsonNode *request, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* Build {"command": cmd, extra key/value string pairs..., NULL}. */
JsonNode *hv_control_request(const char *cmd, ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS
