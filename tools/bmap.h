/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bmaptool's block map (.bmap, formats 1.x and 2.0): which block ranges of a
 * sparse image hold data, with a checksum per range and one over the bmap
 * file itself. Owns parsing and validation; the flash module consumes it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HV_BMAP_ERROR (hv_bmap_error_quark())
GQuark hv_bmap_error_quark(void);

typedef enum {
  HV_BMAP_ERROR_IO,          /* the file cannot be read, or is too large */
  HV_BMAP_ERROR_PARSE,       /* not well-formed XML, unknown or misplaced element */
  HV_BMAP_ERROR_UNSUPPORTED, /* format version or checksum type not supported */
  HV_BMAP_ERROR_INVALID,     /* a bad number, a missing field, ranges out of order,
                              * overlapping or beyond the image, counts that disagree */
  HV_BMAP_ERROR_CHECKSUM,    /* the bmap file's own checksum does not match */
} HvBmapError;

/* Largest bmap file accepted (a 64 GiB image fully fragmented in 4 KiB
 * blocks would need far more; real ones are a few KiB to a few MiB). */
#define HV_BMAP_MAX_FILE_SIZE (64u * 1024 * 1024)

typedef struct _HvBmap HvBmap;

/* Parses and validates a bmap held in memory (len bytes, need not be
 * NUL-terminated), including its own file checksum. Returns a new HvBmap
 * (caller frees) or NULL with error set. */
G_GNUC_WARN_UNUSED_RESULT
HvBmap *hv_bmap_parse(const char *data, gsize len, GError **error);
/* Reads path (at most HV_BMAP_MAX_FILE_SIZE bytes) and parses it. */
G_GNUC_WARN_UNUSED_RESULT
HvBmap *hv_bmap_load(const char *path, GError **error);
void hv_bmap_free(HvBmap *bmap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvBmap, hv_bmap_free)

/* "2.0", owned by bmap. */
const char *hv_bmap_get_version(const HvBmap *bmap);
guint64 hv_bmap_get_image_size(const HvBmap *bmap);
guint32 hv_bmap_get_block_size(const HvBmap *bmap);
guint64 hv_bmap_get_blocks_count(const HvBmap *bmap);
guint64 hv_bmap_get_mapped_blocks(const HvBmap *bmap);
/* Bytes of the image the ranges cover (the last block may be partial). */
guint64 hv_bmap_get_mapped_bytes(const HvBmap *bmap);
/* The checksum type of the ranges and of the file (sha1 for 1.x). */
GChecksumType hv_bmap_get_checksum_type(const HvBmap *bmap);
guint hv_bmap_get_n_ranges(const HvBmap *bmap);
/* Range i (0 <= i < n_ranges) in bytes of the image: offset and length, the
 * last range clipped at the image size; its lower-case hex checksum, or NULL
 * when the bmap has none for it (owned by bmap). */
void hv_bmap_get_range(const HvBmap *bmap, guint i, guint64 *ret_offset, guint64 *ret_length,
                       const char **ret_checksum);
/* Index of the first range ending after offset (n_ranges when none): lets a
 * reader walking the image in order know which range a byte belongs to. */
guint hv_bmap_find_range(const HvBmap *bmap, guint64 offset);

G_END_DECLS
