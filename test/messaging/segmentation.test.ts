import { describe, expect, it } from 'vitest';
import { segment } from '../../src/messaging/segmentation.ts';

const a = (n: number) => 'a'.repeat(n);

describe('SMS segmentation', () => {
  it.each([
    // label, text, encoding, units, parts
    ['plain ASCII', 'Hello, world!', 'gsm7', 13, 1],
    ['160 GSM-7 characters fit one part', a(160), 'gsm7', 160, 1],
    ['161 GSM-7 characters take two parts', a(161), 'gsm7', 161, 2],
    ['306 GSM-7 characters fit two parts of 153', a(306), 'gsm7', 306, 2],
    ['307 GSM-7 characters take three parts', a(307), 'gsm7', 307, 3],
    ['extension characters count two septets', '€[]{}~^|\\', 'gsm7', 18, 1],
    ['80 euro signs are 160 septets: one part', '€'.repeat(80), 'gsm7', 160, 1],
    ['159 letters and a euro sign are 161 septets: two parts', `${a(159)}€`, 'gsm7', 161, 2],
    ['an escape pair is never split across parts', `${a(152)}€${a(152)}`, 'gsm7', 306, 3],
    ['accented letters of the GSM-7 alphabet stay GSM-7', 'èéùìòÇÄÖÑÜäöñüàÉßØøÅåÆæ', 'gsm7', 23, 1],
    ['Greek capitals of the GSM-7 alphabet stay GSM-7', 'ΔΦΓΛΩΠΨΣΘΞ', 'gsm7', 10, 1],
    ['newlines are GSM-7', 'line one\nline two\r\n', 'gsm7', 19, 1],
    ['an accented letter outside GSM-7 switches to UCS-2', 'Olá', 'ucs2', 3, 1],
    ['a lowercase c-cedilla is not GSM-7', 'façade', 'ucs2', 6, 1],
    ['a tab is not GSM-7', 'a\tb', 'ucs2', 3, 1],
    ['70 UCS-2 code units fit one part', `${a(69)}á`, 'ucs2', 70, 1],
    ['71 UCS-2 code units take two parts', `${a(70)}á`, 'ucs2', 71, 2],
    ['134 UCS-2 code units fit two parts of 67', `${a(133)}á`, 'ucs2', 134, 2],
    ['135 UCS-2 code units take three parts', `${a(134)}á`, 'ucs2', 135, 3],
    ['an emoji is two UTF-16 code units', '😀', 'ucs2', 2, 1],
    ['35 emoji are 70 code units: one part', '😀'.repeat(35), 'ucs2', 70, 1],
    ['36 emoji are 72 code units: two parts', '😀'.repeat(36), 'ucs2', 72, 2],
    ['a surrogate pair is never split across parts', `${a(66)}😀${a(66)}`, 'ucs2', 134, 3],
    ['Cyrillic', 'Привет', 'ucs2', 6, 1],
  ] as const)('%s', (_label, text, encoding, units, parts) => {
    expect(segment(text)).toEqual({ encoding, units, parts });
  });
});
