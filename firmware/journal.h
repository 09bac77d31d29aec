/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal: evidentiary log lines with stable MESSAGE_IDs (journalctl MESSAGE_ID=...). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HV_MSGID_STATE     "4f6b7a1e0c2d4b8f9a3e5d7c1b2a6f01"  /* state transition */
#define HV_MSGID_STARTED   "4f6b7a1e0c2d4b8f9a3e5d7c1b2a6f02"  /* session opened */
#define HV_MSGID_SEALED    "4f6b7a1e0c2d4b8f9a3e5d7c1b2a6f03"  /* session sealed */
#define HV_MSGID_RECOVERED "4f6b7a1e0c2d4b8f9a3e5d7c1b2a6f04"  /* unsealed session recovered */
#define HV_MSGID_FAULT     "4f6b7a1e0c2d4b8f9a3e5d7c1b2a6f05"  /* fault raised or cleared */
#define HV_MSGID_CONTROL   "4f6b7a1e0c2d4b8f9a3e5d7c1b2a6f06"  /* control action */
#define HV_MSGID_IGNORED   "4f6b7a1e0c2d4b8f9a3e5d7c1b2a6f07"  /* input ignored in this state */
#define HV_MSGID_DEVICEKEY "4f6b7a1e0c2d4b8f9a3e5d7c1b2a6f08"  /* device key created or replaced (--init-device) */
#define HV_MSGID_ROOM      "4f6b7a1e0c2d4b8f9a3e5d7c1b2a6f09"  /* [device] room changed since the last start */

void hv_journal(GLogLevelFlags level, const char *message_id, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

G_END_DECLS
