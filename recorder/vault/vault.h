/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault: the evidence vault library (haven-vault), the one implementation of
 * the sealed session format (docs/FORMAT.md). It depends on GLib and
 * libsodium only: no GIO, no GStreamer, no hardware, no daemon. The daemon
 * seals with it; the custodians' tool verifies, decrypts and recovers with it.
 *
 * This is the library's one public header: code outside recorder/vault/
 * includes "vault/vault.h" and nothing else from this folder. The headers it
 * includes are the library's modules:
 *
 *   vault-format.h   on-disk structures, byte order, hash chain, fingerprint
 *   vault-file.h     bounded reads, atomic replace, exclusive create
 *   vault-keys.h     device (Ed25519) and custodian (X25519) key files
 *   vault-writer.h   sealing a media stream and events into session directories
 *   vault-verify.h   keyless verification of a session; session discovery
 *   vault-ledger.h   the device ledger across sessions
 *   vault-recover.h  sealing a crashed session INTERRUPTED
 *   vault-decrypt.h  the custodian side: unwrap, commitment, decrypt
 *
 * Like any library here, it never logs: every failure is a GError in the
 * HV_VAULT_ERROR (or the module's own) domain for the caller to report.
 */
#pragma once

#include "vault-format.h"
#include "vault-file.h"
#include "vault-keys.h"
#include "vault-writer.h"
#include "vault-verify.h"
#include "vault-verify-many.h"
#include "vault-ledger.h"
#include "vault-recover.h"
#include "vault-decrypt.h"
