/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report-sign: detached signatures of export reports by the custodian's
 * Ed25519 signing key (docs/FORMAT.md §13). REPORT.sig is six lines of text;
 * the signature covers a domain string and the first five lines, which carry
 * the report's SHA-256 and the signer's public key.
 */
#pragma once

#include "vault/vault.h"

G_BEGIN_DECLS

#define HV_REPORT_SIGN_ERROR hv_report_sign_error_quark()
GQuark hv_report_sign_error_quark(void);

typedef enum {
  HV_REPORT_SIGN_ERROR_IO,        /* the report or its .sig cannot be read or written */
  HV_REPORT_SIGN_ERROR_MALFORMED, /* REPORT.sig is not a haven report signature */
  HV_REPORT_SIGN_ERROR_MISMATCH,  /* the report is not the one signed */
  HV_REPORT_SIGN_ERROR_SIGNATURE, /* the signature does not verify */
  HV_REPORT_SIGN_ERROR_UNPINNED,  /* signed by none of the expected keys */
} HvReportSignError;

/* Write path.sig (created exclusively, 0644) signing the file at path with
 * id's signing key. */
gboolean hv_report_sign(const char *path, const HvIdentity *id, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Check path against path.sig; signers (GBytes of HV_SIGNER_PK_SIZE) pins the
 * signer when not NULL. On success ret_signer_id is the signing key's id. */
gboolean hv_report_verify(const char *path, GPtrArray *signers, char **ret_signer_id, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
