// SPDX-License-Identifier: GPL-2.0-or-later
/* bmaptool's block map, parsed with GMarkup and validated before any use. */
#include "bmap.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

G_DEFINE_QUARK(hv-bmap-error-quark, hv_bmap_error)

/* Block sizes accepted: bmaptool uses the filesystem's (4 KiB); O_DIRECT
 * needs at least the sector size. */
#define BMAP_MIN_BLOCK_SIZE 512u
#define BMAP_MAX_BLOCK_SIZE (1u << 20)
/* Images up to 2^50 bytes (1 PiB): keeps every product of blocks and sizes
 * far from overflowing. */
#define BMAP_MAX_IMAGE_SIZE (G_GUINT64_CONSTANT(1) << 50)

typedef struct {
  guint64 first, last; /* blocks, inclusive */
  char   *checksum;    /* lower-case hex, or NULL */
} BmapRange;

struct _HvBmap {
  char         *version;
  guint         major, minor;
  guint64       image_size;
  guint32       block_size;
  guint64       blocks_count;
  guint64       mapped_blocks;
  GChecksumType checksum_type;
  char         *file_checksum;
  GArray       *ranges; /* BmapRange */
};

/* Which fields were seen (each at most once). */
enum {
  SEEN_IMAGE_SIZE     = 1 << 0,
  SEEN_BLOCK_SIZE     = 1 << 1,
  SEEN_BLOCKS_COUNT   = 1 << 2,
  SEEN_MAPPED_BLOCKS  = 1 << 3,
  SEEN_CHECKSUM_TYPE  = 1 << 4,
  SEEN_FILE_CHECKSUM  = 1 << 5,
  SEEN_BLOCK_MAP      = 1 << 6,
};

typedef struct {
  HvBmap  *bmap;
  guint    seen;
  GString *text;            /* text of the leaf element being read */
  char    *range_checksum;  /* attribute of the Range being read */
  char    *checksum_type;   /* ChecksumType's text, resolved at the end */
} BmapParser;

static void
range_clear(gpointer p)
{
  g_free(((BmapRange *)p)->checksum);
}

void
hv_bmap_free(HvBmap *bmap)
{
  if (!bmap)
    return;
  g_free(bmap->version);
  g_free(bmap->file_checksum);
  if (bmap->ranges)
    g_array_unref(bmap->ranges);
  g_free(bmap);
}

static gboolean
parse_number(const char *text, const char *what, guint64 max, guint64 *ret, GError **error)
{
  g_autofree char *s = g_strstrip(g_strdup(text));
  guint64 v = 0;
  g_autoptr(GError) e = NULL;
  if (!g_ascii_string_to_unsigned(s, 10, 0, max, &v, &e)) {
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID, "%s: bad number '%s' (%s)", what, s,
                e->message);
    return FALSE;
  }
  *ret = v;
  return TRUE;
}

static gboolean
checksum_type_from_name(const char *name, GChecksumType *ret)
{
  static const struct {
    const char   *name;
    GChecksumType type;
  } types[] = {
    { "sha1", G_CHECKSUM_SHA1 }, { "sha256", G_CHECKSUM_SHA256 }, { "sha512", G_CHECKSUM_SHA512 },
  };
  for (guint i = 0; i < G_N_ELEMENTS(types); i++) {
    if (!strcmp(name, types[i].name)) {
      *ret = types[i].type;
      return TRUE;
    }
  }
  return FALSE;
}

/* A checksum as written in the bmap: hex digits of the type's length. */
static gboolean
check_hex(const char *hex, GChecksumType type, const char *what, GError **error)
{
  gssize want = g_checksum_type_get_length(type) * 2;
  gssize len = (gssize)strlen(hex);
  gboolean ok = len == want;
  for (gssize i = 0; ok && i < len; i++)
    ok = g_ascii_isxdigit(hex[i]);
  if (!ok)
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID,
                "%s: '%s' is not a %s checksum (%zd hex digits)", what, hex,
                type == G_CHECKSUM_SHA1 ? "sha1" : type == G_CHECKSUM_SHA256 ? "sha256" : "sha512",
                want);
  return ok;
}

static gboolean
parse_version(HvBmap *bmap, const char *version, GError **error)
{
  g_auto(GStrv) parts = g_strsplit(version, ".", 3);
  guint64 major = 0, minor = 0;
  if (g_strv_length(parts) != 2 ||
      !g_ascii_string_to_unsigned(parts[0], 10, 0, 99, &major, NULL) ||
      !g_ascii_string_to_unsigned(parts[1], 10, 0, 99, &minor, NULL)) {
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID, "bad bmap version '%s'", version);
    return FALSE;
  }
  if (major < 1 || major > 2) {
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_UNSUPPORTED,
                "bmap format version %s is not supported (1.x and 2.x are)", version);
    return FALSE;
  }
  bmap->version = g_strdup(version);
  bmap->major = (guint)major;
  bmap->minor = (guint)minor;
  return TRUE;
}

static gboolean
is_leaf(const char *name)
{
  static const char *const leaves[] = { "ImageSize", "BlockSize", "BlocksCount",
                                        "MappedBlocksCount", "ChecksumType", "BmapFileChecksum",
                                        "BmapFileSHA1" };
  for (guint i = 0; i < G_N_ELEMENTS(leaves); i++)
    if (!strcmp(name, leaves[i]))
      return TRUE;
  return FALSE;
}

static void
on_start(GMarkupParseContext *ctx, const char *name, const char **attr_names,
         const char **attr_values, gpointer user_data, GError **error)
{
  BmapParser *p = user_data;
  const GSList *stack = g_markup_parse_context_get_element_stack(ctx);
  const char *parent = stack->next ? stack->next->data : NULL;

  if (!parent) {
    if (strcmp(name, "bmap")) {
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_PARSE,
                  "the root element is <%s>, not <bmap>", name);
      return;
    }
    const char *version = NULL;
    if (!g_markup_collect_attributes(name, attr_names, attr_values, error,
                                     G_MARKUP_COLLECT_STRING, "version", &version,
                                     G_MARKUP_COLLECT_INVALID))
      return;
    (void)parse_version(p->bmap, version, error);
    return;
  }
  if (!strcmp(parent, "bmap") && (is_leaf(name) || !strcmp(name, "BlockMap"))) {
    guint bit = !strcmp(name, "ImageSize")           ? SEEN_IMAGE_SIZE
                : !strcmp(name, "BlockSize")         ? SEEN_BLOCK_SIZE
                : !strcmp(name, "BlocksCount")       ? SEEN_BLOCKS_COUNT
                : !strcmp(name, "MappedBlocksCount") ? SEEN_MAPPED_BLOCKS
                : !strcmp(name, "ChecksumType")      ? SEEN_CHECKSUM_TYPE
                : !strcmp(name, "BlockMap")          ? SEEN_BLOCK_MAP
                                                     : SEEN_FILE_CHECKSUM;
    if (p->seen & bit) {
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_PARSE, "<%s> appears twice",
                  name);
      return;
    }
    p->seen |= bit;
    if (attr_names[0]) {
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_PARSE,
                  "<%s> has an unexpected attribute '%s'", name, attr_names[0]);
      return;
    }
    g_string_truncate(p->text, 0);
    return;
  }
  if (!strcmp(parent, "BlockMap") && !strcmp(name, "Range")) {
    /* 1.x names the range checksum attribute "sha1", 2.0 "chksum" (as bmaptool reads it). */
    const char *want = p->bmap->major == 1 ? "sha1" : "chksum";
    g_clear_pointer(&p->range_checksum, g_free);
    for (guint i = 0; attr_names[i]; i++) {
      if (strcmp(attr_names[i], want)) {
        g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_PARSE,
                    "<Range> has an unexpected attribute '%s' (format %s uses '%s')",
                    attr_names[i], p->bmap->version, want);
        return;
      }
      p->range_checksum = g_ascii_strdown(attr_values[i], -1);
    }
    g_string_truncate(p->text, 0);
    return;
  }
  g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_PARSE, "unexpected <%s> inside <%s>",
              name, parent);
}

static gboolean
parse_range(BmapParser *p, const char *text, GError **error)
{
  g_autofree char *s = g_strstrip(g_strdup(text));
  const char *dash = strchr(s, '-');
  g_autofree char *first_s = dash ? g_strndup(s, dash - s) : g_strdup(s);
  BmapRange r = { 0 };
  if (!parse_number(first_s, "Range", BMAP_MAX_IMAGE_SIZE, &r.first, error))
    return FALSE;
  r.last = r.first;
  if (dash && !parse_number(dash + 1, "Range", BMAP_MAX_IMAGE_SIZE, &r.last, error))
    return FALSE;
  if (r.last < r.first) {
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID, "Range %s ends before it begins", s);
    return FALSE;
  }
  GArray *ranges = p->bmap->ranges;
  if (ranges->len > 0) {
    const BmapRange *prev = &g_array_index(ranges, BmapRange, ranges->len - 1);
    if (r.first <= prev->last) {
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID,
                  "Range %s is out of order or overlaps the range before it (ending at block %"
                  G_GUINT64_FORMAT ")", s, prev->last);
      return FALSE;
    }
  }
  r.checksum = g_steal_pointer(&p->range_checksum);
  g_array_append_val(ranges, r);
  return TRUE;
}

static void
on_end(GMarkupParseContext *ctx, const char *name, gpointer user_data, GError **error)
{
  BmapParser *p = user_data;
  HvBmap *b = p->bmap;
  const char *text = p->text->str;
  if (!strcmp(name, "ImageSize"))
    (void)parse_number(text, name, BMAP_MAX_IMAGE_SIZE, &b->image_size, error);
  else if (!strcmp(name, "BlockSize")) {
    guint64 bs = 0;
    if (!parse_number(text, name, G_MAXUINT32, &bs, error))
      return;
    if (bs < BMAP_MIN_BLOCK_SIZE || bs > BMAP_MAX_BLOCK_SIZE || (bs & (bs - 1))) {
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID,
                  "BlockSize %" G_GUINT64_FORMAT " is not a power of two from %u to %u", bs,
                  BMAP_MIN_BLOCK_SIZE, BMAP_MAX_BLOCK_SIZE);
      return;
    }
    b->block_size = (guint32)bs;
  } else if (!strcmp(name, "BlocksCount"))
    (void)parse_number(text, name, BMAP_MAX_IMAGE_SIZE, &b->blocks_count, error);
  else if (!strcmp(name, "MappedBlocksCount"))
    (void)parse_number(text, name, BMAP_MAX_IMAGE_SIZE, &b->mapped_blocks, error);
  else if (!strcmp(name, "ChecksumType"))
    p->checksum_type = g_strstrip(g_strdup(text));
  else if (!strcmp(name, "BmapFileChecksum") || !strcmp(name, "BmapFileSHA1")) {
    b->file_checksum = g_strstrip(g_strdup(text));
    if ((b->major == 1) != !strcmp(name, "BmapFileSHA1"))
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_PARSE,
                  "<%s> does not belong in a format %s bmap", name, b->version);
  } else if (!strcmp(name, "Range"))
    (void)parse_range(p, text, error);
}

static void
on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer user_data, GError **error)
{
  BmapParser *p = user_data;
  const char *elem = g_markup_parse_context_get_element(ctx);
  if (elem && (is_leaf(elem) || !strcmp(elem, "Range"))) {
    if (p->text->len + len > 4096) {
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_PARSE, "<%s> holds too much text", elem);
      return;
    }
    g_string_append_len(p->text, text, (gssize)len);
    return;
  }
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isspace(text[i])) {
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_PARSE, "unexpected text inside <%s>",
                  elem ? elem : "the document");
      return;
    }
  }
}

/* bmaptool's rule: hash the file with its own checksum replaced by as many
 * '0' characters, wherever it first occurs. */
static gboolean
verify_file_checksum(const HvBmap *b, const char *data, gsize len, GError **error)
{
  gsize clen = strlen(b->file_checksum);
  const char *pos = g_strstr_len(data, (gssize)len, b->file_checksum);
  if (!pos) /* cannot happen: the parser read it from data */
    pos = data;
  g_autoptr(GChecksum) sum = g_checksum_new(b->checksum_type);
  g_checksum_update(sum, (const guchar *)data, pos - data);
  g_autofree char *zeros = g_strnfill(clen, '0');
  g_checksum_update(sum, (const guchar *)zeros, (gssize)clen);
  g_checksum_update(sum, (const guchar *)pos + clen, (gssize)(len - (gsize)(pos - data) - clen));
  g_autofree char *want = g_ascii_strdown(b->file_checksum, -1);
  if (strcmp(g_checksum_get_string(sum), want)) {
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_CHECKSUM,
                "the bmap file's checksum does not match: computed %s, the file says %s",
                g_checksum_get_string(sum), want);
    return FALSE;
  }
  return TRUE;
}

static gboolean
validate(BmapParser *p, const char *data, gsize len, GError **error)
{
  HvBmap *b = p->bmap;
  static const struct {
    guint       bit;
    const char *name;
  } required[] = {
    { SEEN_IMAGE_SIZE, "ImageSize" },
    { SEEN_BLOCK_SIZE, "BlockSize" },
    { SEEN_MAPPED_BLOCKS, "MappedBlocksCount" },
    { SEEN_BLOCK_MAP, "BlockMap" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(required); i++) {
    if (!(p->seen & required[i].bit)) {
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID, "<%s> is missing",
                  required[i].name);
      return FALSE;
    }
  }
  b->checksum_type = G_CHECKSUM_SHA1;
  if (b->major >= 2) {
    if (!p->checksum_type) {
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID, "<ChecksumType> is missing");
      return FALSE;
    }
    if (!checksum_type_from_name(p->checksum_type, &b->checksum_type)) {
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_UNSUPPORTED,
                  "checksum type '%s' is not supported (sha1, sha256, sha512 are)",
                  p->checksum_type);
      return FALSE;
    }
  } else if (p->checksum_type) {
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_PARSE,
                "<ChecksumType> does not belong in a format %s bmap", b->version);
    return FALSE;
  }
  guint64 blocks = (b->image_size + b->block_size - 1) / b->block_size;
  if ((p->seen & SEEN_BLOCKS_COUNT) && b->blocks_count != blocks) {
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID,
                "BlocksCount %" G_GUINT64_FORMAT " disagrees with ImageSize %" G_GUINT64_FORMAT
                " in blocks of %u (%" G_GUINT64_FORMAT ")",
                b->blocks_count, b->image_size, b->block_size, blocks);
    return FALSE;
  }
  b->blocks_count = blocks;
  guint64 mapped = 0;
  for (guint i = 0; i < b->ranges->len; i++) {
    const BmapRange *r = &g_array_index(b->ranges, BmapRange, i);
    if (r->last >= blocks) {
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID,
                  "Range %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " goes beyond the image (%"
                  G_GUINT64_FORMAT " blocks of %u bytes)", r->first, r->last, blocks,
                  b->block_size);
      return FALSE;
    }
    if (r->checksum) {
      g_autofree char *what = g_strdup_printf("Range %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
                                              r->first, r->last);
      if (!check_hex(r->checksum, b->checksum_type, what, error))
        return FALSE;
    }
    mapped += r->last - r->first + 1;
  }
  if (mapped != b->mapped_blocks) {
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID,
                "MappedBlocksCount is %" G_GUINT64_FORMAT " but the ranges map %" G_GUINT64_FORMAT
                " blocks", b->mapped_blocks, mapped);
    return FALSE;
  }
  /* The file checksum appeared in format 1.3; bmaptool verifies it from there on. */
  gboolean want_file_checksum = b->major >= 2 || b->minor >= 3;
  if (!b->file_checksum) {
    if (!want_file_checksum)
      return TRUE;
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_INVALID, "<%s> is missing",
                b->major == 1 ? "BmapFileSHA1" : "BmapFileChecksum");
    return FALSE;
  }
  if (!check_hex(b->file_checksum, b->checksum_type, "the bmap file checksum", error))
    return FALSE;
  return verify_file_checksum(b, data, len, error);
}

HvBmap *
hv_bmap_parse(const char *data, gsize len, GError **error)
{
  g_autoptr(HvBmap) bmap = g_new0(HvBmap, 1);
  bmap->ranges = g_array_new(FALSE, FALSE, sizeof(BmapRange));
  g_array_set_clear_func(bmap->ranges, range_clear);
  BmapParser p = { .bmap = bmap, .text = g_string_new(NULL) };
  static const GMarkupParser parser = { on_start, on_end, on_text, NULL, NULL };
  GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, G_MARKUP_PREFIX_ERROR_POSITION,
                                                        &p, NULL);
  g_autoptr(GError) err = NULL;
  gboolean ok = len <= G_MAXSSIZE && g_markup_parse_context_parse(ctx, data, (gssize)len, &err) &&
                g_markup_parse_context_end_parse(ctx, &err);
  g_markup_parse_context_free(ctx);
  g_string_free(p.text, TRUE);
  g_free(p.range_checksum);
  if (ok && !bmap->version)
    g_set_error(&err, HV_BMAP_ERROR, HV_BMAP_ERROR_PARSE, "no <bmap> element");
  ok = ok && bmap->version && validate(&p, data, len, &err);
  g_free(p.checksum_type);
  if (!ok) {
    if (err->domain != HV_BMAP_ERROR)
      g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_PARSE, "not a well-formed bmap: %s",
                  err->message);
    else
      g_propagate_error(error, g_steal_pointer(&err));
    return NULL;
  }
  return g_steal_pointer(&bmap);
}

HvBmap *
hv_bmap_load(const char *path, GError **error)
{
  g_autofree char *shown = g_filename_display_name(path);
  GStatBuf st;
  if (g_stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > HV_BMAP_MAX_FILE_SIZE) {
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_IO, "%s: larger than %u bytes", shown,
                HV_BMAP_MAX_FILE_SIZE);
    return NULL;
  }
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) e = NULL;
  if (!g_file_get_contents(path, &data, &len, &e)) {
    g_set_error(error, HV_BMAP_ERROR, HV_BMAP_ERROR_IO, "%s", e->message);
    return NULL;
  }
  HvBmap *bmap = hv_bmap_parse(data, len, error);
  if (!bmap)
    g_prefix_error(error, "%s: ", shown);
  return bmap;
}

const char *
hv_bmap_get_version(const HvBmap *bmap)
{
  return bmap->version;
}

guint64
hv_bmap_get_image_size(const HvBmap *bmap)
{
  return bmap->image_size;
}

guint32
hv_bmap_get_block_size(const HvBmap *bmap)
{
  return bmap->block_size;
}

guint64
hv_bmap_get_blocks_count(const HvBmap *bmap)
{
  return bmap->blocks_count;
}

guint64
hv_bmap_get_mapped_blocks(const HvBmap *bmap)
{
  return bmap->mapped_blocks;
}

GChecksumType
hv_bmap_get_checksum_type(const HvBmap *bmap)
{
  return bmap->checksum_type;
}

guint
hv_bmap_get_n_ranges(const HvBmap *bmap)
{
  return bmap->ranges->len;
}

void
hv_bmap_get_range(const HvBmap *bmap, guint i, guint64 *ret_offset, guint64 *ret_length,
                  const char **ret_checksum)
{
  g_return_if_fail(i < bmap->ranges->len);
  const BmapRange *r = &g_array_index(bmap->ranges, BmapRange, i);
  guint64 start = r->first * bmap->block_size;
  guint64 end = MIN((r->last + 1) * bmap->block_size, bmap->image_size);
  if (ret_offset)
    *ret_offset = start;
  if (ret_length)
    *ret_length = end - start;
  if (ret_checksum)
    *ret_checksum = r->checksum;
}

guint64
hv_bmap_get_mapped_bytes(const HvBmap *bmap)
{
  guint64 total = 0;
  for (guint i = 0; i < bmap->ranges->len; i++) {
    guint64 len = 0;
    hv_bmap_get_range(bmap, i, NULL, &len, NULL);
    total += len;
  }
  return total;
}

guint
hv_bmap_find_range(const HvBmap *bmap, guint64 offset)
{
  guint lo = 0, hi = bmap->ranges->len;
  while (lo < hi) {
    guint mid = lo + (hi - lo) / 2;
    guint64 start = 0, len = 0;
    hv_bmap_get_range(bmap, mid, &start, &len, NULL);
    if (start + len <= offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}
