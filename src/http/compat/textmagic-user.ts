import type { Role } from '../../members/member.entity.ts';
import type { MemberView } from '../../members/views.ts';
import { microsToNumber } from '../../shared/money.ts';

/**
 * Textmagic's `User` resource, built from a member and its team's currency. teamops keeps no
 * phone, country, time zone or avatar per member: those fields carry the fixed values documented
 * in docs/api.md, so clients that read them get well-formed data instead of missing keys.
 */
export interface TextmagicUser {
  id: number;
  username: string;
  firstName: string;
  lastName: string;
  email: string;
  status: 'A' | 'T';
  balance: number;
  phone: string;
  company: string;
  currency: TextmagicCurrency;
  country: { id: string; name: string };
  timezone: { id: number; area: string; dst: number; offset: number; timezone: string };
  subaccountType: 'P' | 'A' | 'U';
  emailAccepted: boolean;
  phoneAccepted: boolean;
  avatar: { href: string };
  displayTimeFormat: '12h' | '24h';
}

export interface TextmagicCurrency {
  id: string;
  unicodeSymbol: string;
  htmlSymbol: string;
}

/** Members have no country: ISO 3166's user-assigned "unknown" code says so honestly. */
export const UNKNOWN_COUNTRY = { id: 'ZZ', name: 'Unknown' } as const;
/** Every timestamp teamops shows is UTC. */
export const UTC_TIMEZONE = { id: 0, area: 'Etc', dst: 0, offset: 0, timezone: 'UTC' } as const;
/** A neutral placeholder picture, inline so the link never breaks. */
export const DEFAULT_AVATAR =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Ccircle cx='16' cy='16' r='16' fill='%23c4c9d0'/%3E%3C/svg%3E";

const SUBACCOUNT_TYPE: Record<Role, TextmagicUser['subaccountType']> = { owner: 'P', admin: 'A', user: 'U' };

export function textmagicUser(member: MemberView, team: { name: string; currency: string }): TextmagicUser {
  const [firstName = '', ...rest] = member.name.split(' ');
  return {
    id: member.id,
    username: member.username,
    firstName,
    lastName: rest.join(' '),
    email: member.email ?? '',
    // Textmagic's letter is about billing, A (Active) or T (Trial), and no teamops account is on
    // trial. A disabled sub-account is still an account (its key is refused; Textmagic has no
    // word for that); invitees and closed members are not shown to Textmagic clients at all.
    status: 'A',
    balance: microsToNumber(member.balance),
    phone: '',
    company: team.name,
    currency: currencyResource(team.currency),
    country: { ...UNKNOWN_COUNTRY },
    timezone: { ...UTC_TIMEZONE },
    subaccountType: SUBACCOUNT_TYPE[member.role],
    emailAccepted: member.email !== null && member.status !== 'invited',
    phoneAccepted: false,
    avatar: { href: DEFAULT_AVATAR },
    displayTimeFormat: '24h',
  };
}

const NAMED_ENTITIES: Record<string, string> = { '€': '&euro;', '£': '&pound;', '¥': '&yen;', '¢': '&cent;' };
const currencies = new Map<string, TextmagicCurrency>();

/** `{id: "EUR", unicodeSymbol: "€", htmlSymbol: "&euro;"}` for any ISO 4217 code the team may use. */
export function currencyResource(code: string): TextmagicCurrency {
  let resource = currencies.get(code);
  if (!resource) {
    const symbol =
      new Intl.NumberFormat('en', { style: 'currency', currency: code, currencyDisplay: 'narrowSymbol' })
        .formatToParts(0)
        .find((part) => part.type === 'currency')?.value ?? code;
    resource = { id: code, unicodeSymbol: symbol, htmlSymbol: htmlSymbol(symbol) };
    currencies.set(code, resource);
  }
  return resource;
}

function htmlSymbol(symbol: string): string {
  return (
    NAMED_ENTITIES[symbol] ??
    [...symbol].map((c) => (/^[A-Za-z0-9.]$/.test(c) ? c : `&#${c.codePointAt(0)};`)).join('')
  );
}
