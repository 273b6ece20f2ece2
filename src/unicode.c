/* unicode.c — White_Space lookup and the two UTF-8 decoders of unicode.h (tables live in the
 * generated unicode_tables.c). */
#include "unicode.h"

int unicode_is_whitespace(uint32_t cp) {
    if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20;
    int lo = 0, hi = uni_whitespace_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < uni_whitespace[mid][0]) hi = mid - 1;
        else if (cp > uni_whitespace[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static int is_cont(uint8_t b) { return (b & 0xC0) == 0x80; }

uint32_t unicode_decode_lax(const uint8_t *s, size_t n, size_t *adv) {
    uint8_t c = s[0];
    *adv = 1;
    if (!(c & 0x80)) return c;
    if (!(c & 0x40)) return UNI_REPLACEMENT; /* stray continuation byte */
    if (!(c & 0x20)) {
        if (n < 2 || !is_cont(s[1])) return UNI_REPLACEMENT;
        *adv = 2;
        return ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (!(c & 0x10)) {
        if (n < 3 || !is_cont(s[1]) || !is_cont(s[2])) return UNI_REPLACEMENT;
        *adv = 3;
        return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    if (!(c & 0x08)) {
        if (n < 4 || !is_cont(s[1]) || !is_cont(s[2]) || !is_cont(s[3])) return UNI_REPLACEMENT;
        *adv = 4;
        return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
               ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    }
    return UNI_REPLACEMENT; /* 0xF8..0xFF */
}

size_t unicode_encode(uint32_t cp, uint8_t out[4]) {
    if (cp >= UNI_MAX_CP) cp = UNI_REPLACEMENT;
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

int unicode_utf8_check(const uint8_t *s, size_t n, size_t *len) {
    uint8_t c = s[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    *len = 1;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;      /* no overlongs */
        if (c == 0xED) hi = 0x9F;      /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;      /* <= U+10FFFF */
    } else {
        return 0; /* continuation byte, C0, C1, F5..FF */
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= n) {
            *len = i;
            return -1;
        }
        uint8_t b = s[i];
        if (i == 1 ? (b < lo || b > hi) : !is_cont(b)) {
            *len = i;
            return 0;
        }
    }
    *len = need;
    return 1;
}
