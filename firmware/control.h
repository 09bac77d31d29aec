/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control: the local control API. A Unix stream socket (mode 0660, group
 * from the configuration); one JSON request object per line, one JSON reply
 * per line: {"command":"status"} -> {"ok":true,...}. The peer's uid is
 * passed to the handler for the audit.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _HvControl HvControl;

/* Returns a reply object (owned by the caller). */
typedef JsonNode *(*HvControlFunc)(JsonObject *request, const char *actor, gpointer user_data);

HvControl *hv_control_new(const char *socket_path, const char *group, HvControlFunc handler,
                          gpointer user_data, GError **error) G_GNUC_WARN_UNUSED_RESULT;
void hv_control_free(HvControl *c);

/* Reply helpers. */
JsonNode *hv_control_reply_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

G_END_DECLS
