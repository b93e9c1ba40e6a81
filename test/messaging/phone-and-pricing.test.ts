import { describe, expect, it } from 'vitest';
import { toE164 } from '../../src/messaging/phone.ts';
import { PriceList, parsePrefix } from '../../src/messaging/pricing.ts';
import { ValidationError } from '../../src/shared/errors.ts';

describe('E.164 recipients', () => {
  it.each([
    ['+491701234567', '+491701234567'],
    ['+49 170 1234567', '+491701234567'],
    ['+1 (202) 555-0123', '+12025550123'],
    ['+35799123456', '+35799123456'],
  ])('%s is %s', (input, e164) => {
    expect(toE164(input)).toBe(e164);
  });

  it.each([
    ['no country code', '01701234567'],
    ['letters', '+49abc'],
    ['too short', '+491'],
    ['an unassigned range', '+447700900123'],
    ['empty', ''],
  ])('refuses %s, naming the field', (_label, input) => {
    expect(() => toE164(input, 'to[3]')).toThrow(ValidationError);
    try {
      toE164(input, 'to[3]');
    } catch (error) {
      expect((error as ValidationError).field).toBe('to[3]');
    }
  });
});

describe('price list', () => {
  const list = new PriceList(
    [
      { prefix: '', price: 50_000n },
      { prefix: '4', price: 60_000n },
      { prefix: '49', price: 75_000n },
      { prefix: '4917', price: 90_000n },
    ],
    10_000n,
  );

  it('the longest matching prefix wins', () => {
    expect(list.priceFor('+4917012345678')).toEqual({ price: 90_000n, prefix: '4917' });
    expect(list.priceFor('+4915112345678')).toEqual({ price: 75_000n, prefix: '49' });
    expect(list.priceFor('+447911123456')).toEqual({ price: 60_000n, prefix: '4' });
  });

  it("falls back to the team's default, then to the product's", () => {
    expect(list.priceFor('+12025550123')).toEqual({ price: 50_000n, prefix: '' });
    expect(new PriceList([{ prefix: '49', price: 75_000n }], 10_000n).priceFor('+12025550123')).toEqual({
      price: 10_000n,
      prefix: null,
    });
  });

  it('reads prefixes the way an operator types them', () => {
    expect(parsePrefix('49')).toBe('49');
    expect(parsePrefix('+4917')).toBe('4917');
    expect(parsePrefix('default')).toBe('');
    expect(() => parsePrefix('49a')).toThrow(ValidationError);
    expect(() => parsePrefix('')).toThrow(ValidationError);
  });
});
