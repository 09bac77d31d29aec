/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * custody-log: a session's custody log (docs/FORMAT.md §12). One JSON object
 * per line, members in a fixed order, each entry hash-chained to the previous
 * one (the first to the session's seal_hash) and signed by the custodian's
 * Ed25519 signing key. The log lives beside the sealed files
 * (SESSION/custody.log) or wherever --custody-log puts it; the sealed files
 * never change and the verifier of the session ignores the log.
 *
 * The writer appends under an exclusive lock, after verifying what is already
 * there (it never extends a broken log). The reader returns the intact prefix
 * and names the first bad entry.
 */
#pragma once

#include "vault/vault.h"

G_BEGIN_DECLS

#define HV_CUSTODY_ERROR hv_custody_error_quark()
GQuark hv_custody_error_quark(void);

typedef enum {
  HV_CUSTODY_ERROR_IO,         /* the log or the session cannot be read or written */
  HV_CUSTODY_ERROR_SESSION,    /* no sealed session to chain to */
  HV_CUSTODY_ERROR_READ_ONLY,  /* the log's directory is read-only (a write-protected master) */
  HV_CUSTODY_ERROR_BROKEN,     /* the existing log does not verify: nothing appended */
  HV_CUSTODY_ERROR_NO_SIGNER,  /* the identity has no signing key */
  HV_CUSTODY_ERROR_INPUT,      /* a field is not valid UTF-8 or too long */
} HvCustodyError;

#define HV_CUSTODY_LOG_NAME  "custody.log"
#define HV_CUSTODY_FORMAT    "haven-custody-v1"
#define HV_CUSTODY_TEXT_MAX  1024u  /* bytes of --to / --ref */

/* One produced file: its name relative to the entry's out directory. */
typedef struct {
  char   *path;
  guint64 size;
  char   *sha256;  /* lowercase hex */
} HvCustodyFile;

HvCustodyFile *hv_custody_file_new(const char *path, guint64 size, const char *sha256_hex);
void           hv_custody_file_free(HvCustodyFile *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCustodyFile, hv_custody_file_free)

/* One verified entry, as recorded. */
typedef struct {
  guint64    seq;
  gint64     time_us;
  char      *time;          /* RFC 3339, UTC, µs */
  char      *session_id;    /* hex */
  char      *prev;          /* hex BLAKE2b-256 */
  char      *key_id;        /* custodian's recipient key id */
  char      *signer;        /* base64 Ed25519 public key */
  char      *signer_id;     /* key id of the signing key */
  char      *os_user;
  gint64     os_uid;
  char      *host;
  char      *action;
  char      *to;
  char      *ref;
  char      *tool;
  char      *tool_version;
  char      *out;
  GPtrArray *files;         /* HvCustodyFile */
  char      *hash;          /* hex BLAKE2b-256 of the line: the next entry's prev */
} HvCustodyEntry;

typedef struct {
  char      *log_path;
  char      *seal_hash;     /* hex: what entry 1 chains to */
  GPtrArray *entries;       /* HvCustodyEntry: the intact prefix */
  gboolean   intact;
  guint64    bad_entry;     /* 1-based; when !intact */
  char      *problem;       /* when !intact: "entry N: ..." */
} HvCustodyVerdict;

void hv_custody_verdict_free(HvCustodyVerdict *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCustodyVerdict, hv_custody_verdict_free)

/* SESSION/custody.log, or log_path when not NULL, made absolute. Newly allocated. */
char *hv_custody_log_path(const char *session, const char *log_path);

/* Verify the custody log of session (a missing log is intact and empty).
 * signers: NULL, or GBytes of HV_SIGNER_PK_SIZE each: every entry must be
 * signed by one of them. Returns NULL with error only when the session or the
 * log cannot be read; a log that does not verify is a verdict with !intact. */
HvCustodyVerdict *hv_custody_verify(const char *session, const char *log_path, GPtrArray *signers,
                                    GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The same check of a log held in memory (n bytes at data), bound to a session
 * given by its id and seal_hash (lower-case hex); log_path only names it.
 * Never fails: the fuzz target's entry point. */
HvCustodyVerdict *hv_custody_verify_data(const char *log_path, const char *data, gsize n,
                                         const char *session_id_hex, const char *seal_hash_hex,
                                         GPtrArray *signers);

typedef struct HvCustodyWriter HvCustodyWriter;

/* Open (create) the log for appending, lock it, and verify what it holds;
 * refuses a broken log (HV_CUSTODY_ERROR_BROKEN) and a read-only directory
 * (HV_CUSTODY_ERROR_READ_ONLY, the message says to give --custody-log). */
HvCustodyWriter *hv_custody_writer_open(const char *session, const char *log_path, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
void hv_custody_writer_free(HvCustodyWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCustodyWriter, hv_custody_writer_free)

const char *hv_custody_writer_path(HvCustodyWriter *w);
/* The sequence number the next appended entry gets. */
guint64 hv_custody_writer_next_seq(HvCustodyWriter *w);
/* The key ids of the signing keys, other than own_sign_pk's, that signed
 * entries already in the log ("a, b"), or NULL: appending chains onto them,
 * and only 'haven custody verify --signer' says whether they are trusted. */
char *hv_custody_writer_other_signers(HvCustodyWriter *w, const guint8 *own_sign_pk);

/* Append one signed entry and fsync. action: export, verify, transfer or
 * handover; to, ref, out may be NULL (recorded as ""); files may be NULL. */
gboolean hv_custody_writer_append(HvCustodyWriter *w, const HvIdentity *id, const char *action,
                                  const char *to, const char *ref, const char *out, GPtrArray *files,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* TRUE when action is one of the recorded kinds. */
gboolean hv_custody_action_valid(const char *action);

/* Check a --to/--ref text: valid UTF-8, at most HV_CUSTODY_TEXT_MAX bytes. */
gboolean hv_custody_text_check(const char *what, const char *text, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The OS user running this process ("name", or "uid N" without a passwd entry). */
char *hv_custody_os_user(void);

G_END_DECLS
