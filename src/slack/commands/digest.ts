import { DIGEST_SETTINGS } from '../../digests/digest.service.ts';
import { parseChannel, quote, UsageError } from '../parse/references.ts';
import { oneOf } from '../parse/words.ts';
import { digestText } from '../presenters/replies.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;

function isTimezone(word: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: word });
    return true;
  } catch {
    return false;
  }
}

export const digest: SubcommandSpec<'digest'> = {
  usage: '/team digest <#channel> daily|weekly|off [HH:MM] [timezone]',
  summary: 'post a statistics digest to a channel',
  shownTo: MANAGERS,
  parse(words) {
    const first = words.take('The #channel');
    if (first.toLowerCase() === 'off') {
      words.end();
      return { name: 'digest', frequency: 'off' };
    }
    const channel = parseChannel(first);
    const frequency = oneOf(words.take('How often (daily, weekly or off)'), DIGEST_SETTINGS, 'How often');
    if (frequency === 'off') {
      words.end();
      return { name: 'digest', channel, frequency };
    }
    let time: string | undefined;
    let timezone: string | undefined;
    for (const word of words.rest()) {
      const clock = TIME.exec(word);
      if (clock && time === undefined && timezone === undefined)
        time = `${clock[1]!.padStart(2, '0')}:${clock[2]}`;
      else if (timezone === undefined && isTimezone(word)) timezone = word;
      else if (timezone === undefined && /^[A-Za-z_]+\/[A-Za-z_/-]+$|^UTC$/.test(word))
        throw new UsageError(`${quote(word)} is not a time zone: use a name like Europe/Athens or UTC.`);
      else throw new UsageError(`${quote(word)} is not a time (HH:MM) or a time zone like Europe/Athens.`);
    }
    return { name: 'digest', channel, frequency, ...(time && { time }), ...(timezone && { timezone }) };
  },
  handle: async (command, { deps, caller }) => {
    const settings = await deps.services.digests.configure(caller.actor, {
      channel: command.channel ?? null,
      frequency: command.frequency,
      time: command.time ?? null,
      timezone: command.timezone ?? null,
    });
    return { text: digestText(settings) };
  },
  changesTeamPage: false,
};
