/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-verify-many: verifies the sessions of an archive on all cores and
 * hands back their verdicts in the order given. A large session is verified
 * on its own with a worker per CPU hashing its records (vault-reader.h);
 * small ones, whose records do not keep several workers busy, are verified
 * side by side, one per CPU. The verdicts are those hv_vault_verify gives.
 */
#pragma once

#include "vault-verify.h"

G_BEGIN_DECLS

/* A session is about to be verified in the calling thread (its progress, if
 * any, follows); small sessions verified side by side report no progress. */
typedef void (*HvSessionFunc)(const char *dir, gpointer user_data);
/* One verdict, in the order of dirs, in the calling thread; the callee owns v. */
typedef void (*HvVerdictFunc)(HvVerdict *v, gpointer user_data);

/* Verify n_dirs session directories with opts (on_record must be NULL: the
 * sessions are not read in the calling thread). expected_pks, when not NULL,
 * has n_dirs entries: the device key each session must be signed by, in
 * place of opts->expected_device_pk (a NULL entry keeps it). opts->threads:
 * HV_VERIFY_ALL_CPUS verifies on all cores as above; anything else verifies
 * one session after another with those options. Stops at the first
 * directory that cannot be opened (hv_vault_verify's error), after giving
 * the verdicts before it. */
gboolean hv_vault_verify_many(char *const *dirs, guint n_dirs, const HvVerifyOptions *opts,
                              const guint8 *const *expected_pks, HvSessionFunc on_start, HvVerdictFunc on_verdict, gpointer user_data,
                              GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
