/* unicode.h — the Unicode facts the tokenizer needs: general-category flags and White_Space
 * (tables generated from Unicode 15.0 by tools/gen_unicode_tables.py), and UTF-8 decoding in two
 * flavours: the lax one llama.cpp's tokenizer uses, and a strict one for emitting valid text.
 *
 *   size_t adv;
 *   uint32_t cp = unicode_decode_lax(s, n, &adv);     // 0xFFFD + adv=1 for an invalid byte
 *   if (unicode_flags(cp) & UNI_LETTER) ...            // \p{L}
 *   if (unicode_flags(cp) & UNI_WHITESPACE) ...        // \s
 */
#ifndef HEARTH_UNICODE_H
#define HEARTH_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Category flags: exactly one of the first eight is set for every code point. */
enum {
    UNI_UNDEFINED = 0x01,   /* Cn, unassigned, and anything >= 0x110000 */
    UNI_NUMBER = 0x02,      /* \p{N} */
    UNI_LETTER = 0x04,      /* \p{L} */
    UNI_SEPARATOR = 0x08,   /* \p{Z} */
    UNI_MARK = 0x10,        /* \p{M} */
    UNI_PUNCTUATION = 0x20, /* \p{P} */
    UNI_SYMBOL = 0x40,      /* \p{S} */
    UNI_CONTROL = 0x80,     /* \p{C} minus Cn */
    UNI_WHITESPACE = 0x100  /* White_Space property (\s) */
};

#define UNI_MAX_CP 0x110000u
#define UNI_REPLACEMENT 0xFFFDu

extern const char unicode_tables_version[];
extern const uint16_t uni_stage1[UNI_MAX_CP / 256];
extern const uint8_t uni_stage2[][256];
extern const uint32_t uni_whitespace[][2];
extern const int uni_whitespace_count;

int unicode_is_whitespace(uint32_t cp);

/* Category flags of cp, plus UNI_WHITESPACE. */
static inline unsigned unicode_flags(uint32_t cp) {
    if (cp >= UNI_MAX_CP) return UNI_UNDEFINED;
    unsigned f = uni_stage2[uni_stage1[cp >> 8]][cp & 255];
    if (unicode_is_whitespace(cp)) f |= UNI_WHITESPACE;
    return f;
}

/* Length of a UTF-8 sequence from its lead byte, as llama.cpp computes it (continuation bytes and
 * 0xF8..0xFF count as 1). */
static inline size_t unicode_len_utf8(uint8_t lead) {
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[lead >> 4];
}

/* Decodes one code point at s (n > 0 bytes available) like llama.cpp's unicode_cpts_from_utf8:
 * overlong forms and surrogates are accepted, lead bytes 0xF5..0xF7 give values above 0x10FFFF,
 * and an invalid or truncated sequence gives U+FFFD consuming one byte. *adv = bytes consumed. */
uint32_t unicode_decode_lax(const uint8_t *s, size_t n, size_t *adv);

/* Writes cp as UTF-8 (1..4 bytes) and returns the length. Values above 0x10FFFF, which only the
 * lax decoder produces, are written as U+FFFD. */
size_t unicode_encode(uint32_t cp, uint8_t out[4]);

/* Strict UTF-8 check of the sequence at s (n > 0 bytes): returns 1 and *len for a valid scalar
 * value; 0 and *len = bytes to replace by one U+FFFD (the maximal invalid subpart) when invalid;
 * -1 when the n bytes are a valid but incomplete prefix (more bytes may complete it). */
int unicode_utf8_check(const uint8_t *s, size_t n, size_t *len);

#endif
