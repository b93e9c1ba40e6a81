/**
 * How many SMS parts a text takes, the way a carrier counts them (3GPP TS 23.038 / 23.040).
 *
 * A text made only of GSM-7 characters is sent as GSM-7: 160 septets in one part, 153 per part
 * once it has to be concatenated (the user-data header takes the rest). The extension table
 * characters (€ [ ] { } ~ ^ | \ and form feed) are an escape plus a character: two septets,
 * and the pair is never split across two parts. Anything else turns the whole text into UCS-2:
 * 70 UTF-16 code units in one part, 67 per concatenated part, and a surrogate pair (an emoji)
 * is never split across two parts either.
 */
export type Encoding = 'gsm7' | 'ucs2';

export interface Segmentation {
  encoding: Encoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
  parts: number;
}

const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENSION = '\f^{}\\[~]|€';

const SEPTETS = new Map<string, 1 | 2>([
  ...[...GSM7_BASIC].map((c) => [c, 1] as const),
  ...[...GSM7_EXTENSION].map((c) => [c, 2] as const),
]);

export const LIMITS = {
  gsm7: { single: 160, multi: 153 },
  ucs2: { single: 70, multi: 67 },
} as const;

export function segment(text: string): Segmentation {
  const septets: number[] = [];
  for (const char of text) {
    const width = SEPTETS.get(char);
    if (width === undefined)
      return split(
        'ucs2',
        [...text].map((c) => c.length),
      );
    septets.push(width);
  }
  return split('gsm7', septets);
}

/** Packs indivisible units (a character's septets, a code point's code units) into parts. */
function split(encoding: Encoding, widths: number[]): Segmentation {
  const units = widths.reduce((sum, w) => sum + w, 0);
  const { single, multi } = LIMITS[encoding];
  if (units <= single) return { encoding, units, parts: units === 0 ? 0 : 1 };
  let parts = 1;
  let used = 0;
  for (const width of widths) {
    if (used + width > multi) {
      parts += 1;
      used = 0;
    }
    used += width;
  }
  return { encoding, units, parts };
}
