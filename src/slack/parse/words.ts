import { type MemberRef, parseMemberRef, quote, UsageError } from './references.ts';

/** The arguments of one subcommand, consumed from the left. */
export class Words {
  readonly subcommand: string;
  private readonly words: string[];
  constructor(subcommand: string, words: string[]) {
    this.subcommand = subcommand;
    this.words = [...words];
  }
  get remaining(): number {
    return this.words.length;
  }
  peek(): string | undefined {
    return this.words[0];
  }
  last(): string | undefined {
    return this.words.at(-1);
  }
  popLast(): string {
    return this.words.pop()!;
  }
  take(what: string): string {
    const word = this.words.shift();
    if (word === undefined) throw new UsageError(`${what} is missing.`);
    return word;
  }
  takeOptional(): string | undefined {
    return this.words.shift();
  }
  rest(): string[] {
    return this.words.splice(0);
  }
  end(): void {
    if (this.words.length > 0)
      throw new UsageError(`${quote(this.words.join(' '))} was not expected after /team ${this.subcommand}.`);
  }
}

export function oneOf<T extends string>(word: string, allowed: readonly T[], what: string): T {
  const lower = word.toLowerCase();
  if ((allowed as readonly string[]).includes(lower)) return lower as T;
  throw new UsageError(`${what} must be ${allowed.join(', ')}, not ${quote(word)}.`);
}

/** The parser of a subcommand that takes no arguments. */
export function noArguments<N extends string>(name: N) {
  return (words: Words): { name: N } => {
    words.end();
    return { name };
  };
}

/** The parser of a subcommand that takes one member and nothing else. */
export function memberOnly<N extends string>(name: N) {
  return (words: Words): { name: N; member: MemberRef } => {
    const member = parseMemberRef(words.take('The member'));
    words.end();
    return { name, member };
  };
}
