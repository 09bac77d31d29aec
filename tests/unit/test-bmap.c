// SPDX-License-Identifier: GPL-2.0-or-later
/* bmap parser and range logic (tools/bmap.c). The fixtures in bmap/ come from
 * bmaptool itself (2.0) and from Python's hashlib (1.4): see bmap/README. */
#include "bmap.h"

#include <string.h>

static char *
fixture(const char *name, gsize *ret_len)
{
  g_autofree char *path = g_build_filename(HV_TEST_BMAP_DIR, name, NULL);
  char *data = NULL;
  g_autoptr(GError) err = NULL;
  g_assert_true(g_file_get_contents(path, &data, ret_len, &err));
  g_assert_no_error(err);
  return data;
}

static void
test_bmaptool_2_0(void)
{
  gsize len = 0;
  g_autofree char *data = fixture("bmaptool-2.0.bmap", &len);
  g_autoptr(GError) err = NULL;
  g_autoptr(HvBmap) b = hv_bmap_parse(data, len, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(hv_bmap_get_version(b), ==, "2.0");
  g_assert_cmpuint(hv_bmap_get_image_size(b), ==, 6291456);
  g_assert_cmpuint(hv_bmap_get_block_size(b), ==, 4096);
  g_assert_cmpuint(hv_bmap_get_blocks_count(b), ==, 1536);
  g_assert_cmpuint(hv_bmap_get_mapped_blocks(b), ==, 104);
  g_assert_cmpuint(hv_bmap_get_mapped_bytes(b), ==, 104 * 4096);
  g_assert_cmpint(hv_bmap_get_checksum_type(b), ==, G_CHECKSUM_SHA256);
  g_assert_cmpuint(hv_bmap_get_n_ranges(b), ==, 3);
  static const guint64 want[][2] = { { 0, 3 * 4096 }, { 300 * 4096, 100 * 4096 }, { 1500 * 4096, 4096 } };
  for (guint i = 0; i < 3; i++) {
    guint64 off = 0, n = 0;
    const char *sum = NULL;
    hv_bmap_get_range(b, i, &off, &n, &sum);
    g_assert_cmpuint(off, ==, want[i][0]);
    g_assert_cmpuint(n, ==, want[i][1]);
    g_assert_cmpuint(strlen(sum), ==, 64);
  }
  const char *sum = NULL;
  hv_bmap_get_range(b, 0, NULL, NULL, &sum);
  g_assert_cmpstr(sum, ==, "642669d33b391ae8d5bc1c41161cefc5dc68845553d4a7b42b89598a4ceec3c7");
}

static void
test_v1_4_partial_block(void)
{
  gsize len = 0;
  g_autofree char *data = fixture("v1.4.bmap", &len);
  g_autoptr(GError) err = NULL;
  g_autoptr(HvBmap) b = hv_bmap_parse(data, len, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(hv_bmap_get_version(b), ==, "1.4");
  g_assert_cmpint(hv_bmap_get_checksum_type(b), ==, G_CHECKSUM_SHA1);
  g_assert_cmpuint(hv_bmap_get_n_ranges(b), ==, 2);
  guint64 off = 0, n = 0;
  const char *sum = NULL;
  hv_bmap_get_range(b, 1, &off, &n, &sum);
  /* the last block is clipped at ImageSize 10000: 8192 + 1808 */
  g_assert_cmpuint(off, ==, 8192);
  g_assert_cmpuint(n, ==, 1808);
  g_assert_cmpstr(sum, ==, "1ac573b7ec738d144364d71f354e3515f65204cf");
  g_assert_cmpuint(hv_bmap_get_mapped_bytes(b), ==, 4096 + 1808);
}

static void
test_find_range(void)
{
  gsize len = 0;
  g_autofree char *data = fixture("bmaptool-2.0.bmap", &len);
  g_autoptr(HvBmap) b = hv_bmap_parse(data, len, NULL);
  g_assert_nonnull(b);
  g_assert_cmpuint(hv_bmap_find_range(b, 0), ==, 0);
  g_assert_cmpuint(hv_bmap_find_range(b, 3 * 4096 - 1), ==, 0);
  g_assert_cmpuint(hv_bmap_find_range(b, 3 * 4096), ==, 1);  /* in the gap: next range */
  g_assert_cmpuint(hv_bmap_find_range(b, 400 * 4096 - 1), ==, 1);
  g_assert_cmpuint(hv_bmap_find_range(b, 400 * 4096), ==, 2);
  g_assert_cmpuint(hv_bmap_find_range(b, 1501 * 4096), ==, 3); /* past the last */
}

/* Replaces the first occurrence of from by to in data. */
static char *
replace(const char *data, const char *from, const char *to)
{
  const char *p = strstr(data, from);
  g_assert_nonnull(p);
  return g_strdup_printf("%.*s%s%s", (int)(p - data), data, to, p + strlen(from));
}

/* A change bmaptool's own file checksum catches, even one that keeps the
 * map consistent. */
static void
test_tampered(gconstpointer user_data)
{
  const char *const *edit = user_data;
  gsize len = 0;
  g_autofree char *data = fixture(edit[0], &len);
  g_autofree char *bad = replace(data, edit[1], edit[2]);
  g_autoptr(GError) err = NULL;
  g_autoptr(HvBmap) b = hv_bmap_parse(bad, strlen(bad), &err);
  g_assert_null(b);
  g_assert_error(err, HV_BMAP_ERROR, HV_BMAP_ERROR_CHECKSUM);
}

static const char *const tamper_range[] = { "bmaptool-2.0.bmap", "> 1500 <", "> 1501 <" };
static const char *const tamper_comment[] = { "bmaptool-2.0.bmap", "6.0 MiB", "6.1 MiB" };
static const char *const tamper_sum[] = { "bmaptool-2.0.bmap", "642669d3", "742669d3" };
static const char *const tamper_v14[] = { "v1.4.bmap", "> 2 </Range>", "> 1 </Range>" };

#define HEAD2(image, bs, mapped, type) \
  "<bmap version=\"2.0\"><ImageSize>" image "</ImageSize><BlockSize>" bs "</BlockSize>" \
  "<MappedBlocksCount>" mapped "</MappedBlocksCount><ChecksumType>" type "</ChecksumType>" \
  "<BmapFileChecksum>0000000000000000000000000000000000000000000000000000000000000000" \
  "</BmapFileChecksum>"

typedef struct {
  const char *name;
  const char *xml;
  int         code;
} Malformed;

static const Malformed malformed[] = {
  { "empty", "", HV_BMAP_ERROR_PARSE },
  { "not-xml", "ImageSize=5", HV_BMAP_ERROR_PARSE },
  { "unclosed", "<bmap version=\"2.0\"><ImageSize>5</ImageSize>", HV_BMAP_ERROR_PARSE },
  { "root", "<map version=\"2.0\"/>", HV_BMAP_ERROR_PARSE },
  { "no-version", "<bmap></bmap>", HV_BMAP_ERROR_PARSE },
  { "version-3", "<bmap version=\"3.0\"></bmap>", HV_BMAP_ERROR_UNSUPPORTED },
  { "version-junk", "<bmap version=\"two\"></bmap>", HV_BMAP_ERROR_INVALID },
  { "unknown-element", HEAD2("8192", "4096", "0", "sha256") "<Foo/><BlockMap/></bmap>",
    HV_BMAP_ERROR_PARSE },
  { "twice", HEAD2("8192", "4096", "0", "sha256") "<ImageSize>1</ImageSize><BlockMap/></bmap>",
    HV_BMAP_ERROR_PARSE },
  { "range-outside-blockmap", HEAD2("8192", "4096", "1", "sha256") "<Range>0</Range></bmap>",
    HV_BMAP_ERROR_PARSE },
  { "text-in-bmap", HEAD2("8192", "4096", "0", "sha256") "junk<BlockMap/></bmap>",
    HV_BMAP_ERROR_PARSE },
  { "sha1-attr-in-2.0", HEAD2("8192", "4096", "1", "sha256")
    "<BlockMap><Range sha1=\"00\">0</Range></BlockMap></bmap>", HV_BMAP_ERROR_PARSE },
  { "checksumtype-in-1.4", "<bmap version=\"1.4\"><ImageSize>4096</ImageSize>"
    "<BlockSize>4096</BlockSize><MappedBlocksCount>0</MappedBlocksCount>"
    "<ChecksumType>sha1</ChecksumType><BlockMap/></bmap>", HV_BMAP_ERROR_PARSE },
  { "bad-number", HEAD2("8k", "4096", "0", "sha256") "<BlockMap/></bmap>",
    HV_BMAP_ERROR_INVALID },
  { "negative", HEAD2("-8192", "4096", "0", "sha256") "<BlockMap/></bmap>",
    HV_BMAP_ERROR_INVALID },
  { "huge", HEAD2("99999999999999999999999", "4096", "0", "sha256") "<BlockMap/></bmap>",
    HV_BMAP_ERROR_INVALID },
  { "block-size-odd", HEAD2("8192", "1000", "0", "sha256") "<BlockMap/></bmap>",
    HV_BMAP_ERROR_INVALID },
  { "block-size-zero", HEAD2("8192", "0", "0", "sha256") "<BlockMap/></bmap>",
    HV_BMAP_ERROR_INVALID },
  { "missing-blocksize", "<bmap version=\"2.0\"><ImageSize>8192</ImageSize>"
    "<MappedBlocksCount>0</MappedBlocksCount><ChecksumType>sha256</ChecksumType>"
    "<BlockMap/></bmap>", HV_BMAP_ERROR_INVALID },
  { "missing-blockmap", HEAD2("8192", "4096", "0", "sha256") "</bmap>", HV_BMAP_ERROR_INVALID },
  { "missing-checksumtype", "<bmap version=\"2.0\"><ImageSize>8192</ImageSize>"
    "<BlockSize>4096</BlockSize><MappedBlocksCount>0</MappedBlocksCount><BlockMap/></bmap>",
    HV_BMAP_ERROR_INVALID },
  { "missing-file-checksum", "<bmap version=\"2.0\"><ImageSize>8192</ImageSize>"
    "<BlockSize>4096</BlockSize><MappedBlocksCount>0</MappedBlocksCount>"
    "<ChecksumType>sha256</ChecksumType><BlockMap/></bmap>", HV_BMAP_ERROR_INVALID },
  { "checksum-md5", HEAD2("8192", "4096", "0", "md5") "<BlockMap/></bmap>",
    HV_BMAP_ERROR_UNSUPPORTED },
  { "blockscount-disagrees", HEAD2("8192", "4096", "0", "sha256")
    "<BlocksCount>3</BlocksCount><BlockMap/></bmap>", HV_BMAP_ERROR_INVALID },
  { "out-of-order", HEAD2("40960", "4096", "2", "sha256")
    "<BlockMap><Range>5</Range><Range>3</Range></BlockMap></bmap>", HV_BMAP_ERROR_INVALID },
  { "overlapping", HEAD2("40960", "4096", "6", "sha256")
    "<BlockMap><Range>1-4</Range><Range>4-5</Range></BlockMap></bmap>", HV_BMAP_ERROR_INVALID },
  { "repeated", HEAD2("40960", "4096", "2", "sha256")
    "<BlockMap><Range>1</Range><Range>1</Range></BlockMap></bmap>", HV_BMAP_ERROR_INVALID },
  { "reversed", HEAD2("40960", "4096", "1", "sha256")
    "<BlockMap><Range>4-2</Range></BlockMap></bmap>", HV_BMAP_ERROR_INVALID },
  { "beyond-image", HEAD2("8193", "4096", "1", "sha256")
    "<BlockMap><Range>3</Range></BlockMap></bmap>", HV_BMAP_ERROR_INVALID },
  { "range-junk", HEAD2("8192", "4096", "1", "sha256")
    "<BlockMap><Range>0x1</Range></BlockMap></bmap>", HV_BMAP_ERROR_INVALID },
  { "range-empty", HEAD2("8192", "4096", "1", "sha256")
    "<BlockMap><Range> </Range></BlockMap></bmap>", HV_BMAP_ERROR_INVALID },
  { "range-open", HEAD2("8192", "4096", "1", "sha256")
    "<BlockMap><Range>0-</Range></BlockMap></bmap>", HV_BMAP_ERROR_INVALID },
  { "mapped-count", HEAD2("40960", "4096", "3", "sha256")
    "<BlockMap><Range>1-3</Range><Range>5</Range></BlockMap></bmap>", HV_BMAP_ERROR_INVALID },
  { "range-checksum-short", HEAD2("8192", "4096", "1", "sha256")
    "<BlockMap><Range chksum=\"abcd\">0</Range></BlockMap></bmap>", HV_BMAP_ERROR_INVALID },
  { "range-checksum-not-hex", HEAD2("8192", "4096", "1", "sha256")
    "<BlockMap><Range chksum=\"zz42669d33b391ae8d5bc1c41161cefc5dc68845553d4a7b42b89598a4ceec3c7\">"
    "0</Range></BlockMap></bmap>", HV_BMAP_ERROR_INVALID },
  /* well-formed and consistent: only the (all-zero) file checksum is wrong */
  { "file-checksum-wrong", HEAD2("8192", "4096", "1", "sha256")
    "<BlockMap><Range>1</Range></BlockMap></bmap>", HV_BMAP_ERROR_CHECKSUM },
};

static void
test_malformed(gconstpointer user_data)
{
  const Malformed *m = user_data;
  g_autoptr(GError) err = NULL;
  g_autoptr(HvBmap) b = hv_bmap_parse(m->xml, strlen(m->xml), &err);
  g_assert_null(b);
  g_assert_error(err, HV_BMAP_ERROR, m->code);
  g_test_message("%s: %s", m->name, err->message);
}

static void
test_load_missing(void)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(HvBmap) b = hv_bmap_load("/nonexistent/x.bmap", &err);
  g_assert_null(b);
  g_assert_error(err, HV_BMAP_ERROR, HV_BMAP_ERROR_IO);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/bmap/bmaptool-2.0", test_bmaptool_2_0);
  g_test_add_func("/bmap/v1.4-partial-block", test_v1_4_partial_block);
  g_test_add_func("/bmap/find-range", test_find_range);
  g_test_add_data_func("/bmap/tampered/range", tamper_range, test_tampered);
  g_test_add_data_func("/bmap/tampered/comment", tamper_comment, test_tampered);
  g_test_add_data_func("/bmap/tampered/range-checksum", tamper_sum, test_tampered);
  g_test_add_data_func("/bmap/tampered/v1.4", tamper_v14, test_tampered);
  for (guint i = 0; i < G_N_ELEMENTS(malformed); i++) {
    g_autofree char *path = g_strdup_printf("/bmap/malformed/%s", malformed[i].name);
    g_test_add_data_func(path, &malformed[i], test_malformed);
  }
  g_test_add_func("/bmap/load-missing", test_load_missing);
  return g_test_run();
}
