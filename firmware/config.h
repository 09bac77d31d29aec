/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config: /etc/haven/haven.conf (GKeyFile) into a typed struct, then
 * validated. Unknown groups and keys are errors naming file, group and key,
 * with a suggestion when the name is near a known one.
 */
#pragma once

#include "recorder-config.h"

G_BEGIN_DECLS

typedef struct {
  char            *path;
  char            *board_path;
  char            *device_key_path;
  char            *state_dir;
  char            *control_socket;
  char            *control_group;     /* NULL: the daemon's primary group */
  char            *catalog_path;
  guint            hold_to_stop_ms;
  char           **recipient_paths;
  HvRecorderConfig rec;
} HvConfig;

#define HV_CONFIG_ERROR (hv_config_error_quark())
GQuark hv_config_error_quark(void);
typedef enum { HV_CONFIG_ERROR_INVALID } HvConfigError;

/* Parse and validate the file, reporting every problem, not only the first:
 * each is appended to problems (char *, owned by the array) as one line naming
 * the file, group and key. Returns the configuration (a key that failed keeps
 * its default) even when problems were found, so that --check-config can go on
 * checking the system; NULL only when the file cannot be read or parsed at all.
 * Owned by the caller. */
HvConfig *hv_config_load_all(const char *path, GPtrArray *problems) G_GNUC_WARN_UNUSED_RESULT;
/* As hv_config_load_all, but fails (INVALID) when any problem was found; the
 * message lists every one, one per line. */
HvConfig *hv_config_load(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* A hint for an unknown key of group ("did you mean 'roots'?", or the group
 * it belongs in), or NULL when nothing is near. Owned by the caller. */
char     *hv_config_suggest_key(const char *group, const char *key) G_GNUC_WARN_UNUSED_RESULT;
void      hv_config_free(HvConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvConfig, hv_config_free)

G_END_DECLS
