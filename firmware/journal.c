// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "journal.h"

void
hv_journal(GLogLevelFlags level, const char *message_id, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_log_structured(G_LOG_DOMAIN, level, "MESSAGE_ID", message_id, "MESSAGE", "%s", msg);
}
