import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { queryOne } from '../../src/platform/sql.ts';
import { operator } from '../../src/shared/actor.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { expectStatsEqualLog, fund } from './helpers.ts';

const h = useServices();
const sender = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-sender.ts');
const COUNT = 600;

/** Runs the sender process; with `killAfter`, SIGKILLs it once that many sends were answered. */
function runSender(url: string, memberId: number, killAfter?: number): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [sender, url, String(memberId), String(COUNT)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const answered = new Map<number, string>();
    let buffered = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [i, id] = line.split(' ');
        answered.set(Number(i), id!);
      }
      if (killAfter !== undefined && answered.size >= killAfter) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve(answered);
      else reject(new Error(`sender exited with ${code}: ${errors}`));
    });
  });
}

describe('a sender process killed mid-batch', () => {
  it('leaves no charge without its message and no message without its charge; a retry charges each key once', {
    timeout: 120_000,
  }, async () => {
    const { team, owner, user } = await seedTeam(h.services, { masterBalance: '100' });
    await h.services.messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.01' });
    await fund(h.services, owner.actor, user.id, '50');

    const first = await runSender(h.db.url, user.id, 150);
    expect(first.size).toBeGreaterThanOrEqual(150);
    const afterCrash = await queryOne<{ messages: string; charges: string; balance: string }>(
      h.orm.em.fork(),
      `select (select count(*) from messages where member_id = ?) as messages,
              (select count(*) from transfers where from_member_id = ? and kind = 'message_charge') as charges,
              (select balance from members where id = ?) as balance`,
      [user.id, user.id, user.id],
    );
    // Everything answered was committed; maybe more (committed, then killed before answering).
    expect(Number(afterCrash!.messages)).toBeGreaterThanOrEqual(first.size);
    expect(afterCrash!.messages).toBe(afterCrash!.charges);
    expect(BigInt(afterCrash!.balance)).toBe(50_000_000n - BigInt(afterCrash!.messages) * 10_000n);
    await expectStatsEqualLog(h.orm, team.id);

    // The clients retry every request, answered or not, with the same keys.
    const retry = await runSender(h.db.url, user.id);
    expect(retry.size).toBe(COUNT);
    for (const [i, id] of first) expect(retry.get(i)).toBe(id);
    const final = await queryOne<{ messages: string; keys: string; charges: string; balance: string }>(
      h.orm.em.fork(),
      `select (select count(*) from messages where member_id = ?) as messages,
              (select count(distinct request_key) from messages where member_id = ?) as keys,
              (select count(*) from transfers where from_member_id = ? and kind = 'message_charge') as charges,
              (select balance from members where id = ?) as balance`,
      [user.id, user.id, user.id, user.id],
    );
    expect(final).toEqual({
      messages: String(COUNT),
      keys: String(COUNT),
      charges: String(COUNT),
      balance: String(50_000_000 - COUNT * 10_000),
    });
    await expectStatsEqualLog(h.orm, team.id);
  });
});
