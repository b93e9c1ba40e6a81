/** Characters Slack clients paste into text that are invisible but are not whitespace to a regex. */
const INVISIBLE = /[\u200b-\u200d\u2060\ufeff]/g;
const QUOTES: Record<string, string> = { '"': '"', '“': '”', '„': '“', '«': '»' };

/**
 * Splits slash-command text into words. Slack's escaped references (`<@U1|Ann Lee>`,
 * `<mailto:a@b.c|a@b.c>`) stay one word even when their label holds spaces, and a quoted
 * phrase ("Acme EU") is one word without its quotes, so team names and reasons may contain spaces.
 */
export function tokenize(text: string): string[] {
  const input = text.replace(INVISIBLE, '');
  const tokens: string[] = [];
  let i = 0;
  while (i < input.length) {
    const char = input[i]!;
    if (/\s/.test(char)) {
      i += 1;
      continue;
    }
    const closingQuote = QUOTES[char];
    if (closingQuote !== undefined) {
      const end = input.indexOf(closingQuote, i + 1);
      const stop = end === -1 ? input.length : end;
      const phrase = input.slice(i + 1, stop).trim();
      if (phrase !== '') tokens.push(phrase.replace(/\s+/g, ' '));
      i = stop + 1;
      continue;
    }
    if (char === '<') {
      const end = input.indexOf('>', i + 1);
      if (end !== -1) {
        tokens.push(input.slice(i, end + 1));
        i = end + 1;
        continue;
      }
    }
    let end = i;
    while (end < input.length && !/\s/.test(input[end]!)) end += 1;
    tokens.push(input.slice(i, end));
    i = end;
  }
  return tokens;
}
