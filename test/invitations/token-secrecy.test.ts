import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createServices } from '../../src/app.ts';
import { InvitationTokens } from '../../src/invitations/invitation-token.ts';
import { redactionOptions } from '../../src/log-redaction.ts';
import { redisPrefix } from '../../src/platform/queue.ts';
import { startWorkers } from '../../workers/index.ts';
import { TEST_REDIS_URL } from '../helpers/env.ts';
import { invitationLinkToken } from '../helpers/invitation-link.ts';
import { seedTeam } from '../helpers/services.ts';
import { PUBLIC_URL, useWorkerHarness } from '../helpers/worker-harness.ts';
import { eventually } from '../helpers/workers.ts';

const h = useWorkerHarness({ workers: false });

/** Every log line of the workers at the most talkative level, kept for inspection. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'trace', ...redactionOptions }, stream), lines };
}

/** Every row of every table of the database, as text. */
async function everyRow(): Promise<string[]> {
  const { rows: tables } = await h.sql.query<{ schema: string; name: string }>(
    `select table_schema as schema, table_name as name from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
  );
  expect(tables.map((t) => t.name)).toEqual(
    expect.arrayContaining(['invitations', 'outbox', 'audit_events']),
  );
  const texts: string[] = [];
  for (const table of tables) {
    const { rows } = await h.sql.query<{ row: string }>(
      `select t::text as row from "${table.schema}"."${table.name}" t`,
    );
    texts.push(...rows.map((r) => `${table.name}: ${r.row}`));
  }
  return texts;
}

/** Every value of every Redis key of this test's queues, as text. */
async function everyRedisValue(): Promise<string[]> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const keys = await redis.keys(`${redisPrefix(h.config.queuePrefix)}*`);
    expect(keys.length).toBeGreaterThan(0);
    const texts: string[] = [];
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'string'
          ? await redis.get(key)
          : type === 'hash'
            ? await redis.hgetall(key)
            : type === 'list'
              ? await redis.lrange(key, 0, -1)
              : type === 'set'
                ? await redis.smembers(key)
                : type === 'zset'
                  ? await redis.zrange(key, '0', '-1')
                  : type === 'stream'
                    ? await redis.xrange(key, '-', '+')
                    : null;
      texts.push(`${key}: ${JSON.stringify(value)}`);
    }
    return texts;
  } finally {
    redis.disconnect();
  }
}

describe('invitation tokens', () => {
  it('are in the email and the DM only: no table, outbox row, Redis key or log line holds one', async () => {
    const { logger, lines } = capturingLogger();
    const workers = startWorkers(
      { config: h.config, logger, orm: h.orm, services: h.services, queues: h.queues },
      { databaseUrl: h.db.url, relay: { pollIntervalMs: 200 } },
    );
    await workers.ready();
    try {
      const seeded = await seedTeam(h.services);
      const byEmail = await h.services.invitations.invite(seeded.owner.actor, {
        email: 'secret.keeper@example.com',
        role: 'admin',
      });
      const bySlack = await h.services.invitations.invite(seeded.owner.actor, { slackUserId: 'USECRET1' });
      const email = await h.smtp.waitFor((e) => e.to.includes('secret.keeper@example.com'));
      const dm = await h.slack.waitFor('chat.postMessage', (call) => call.args.channel === 'USECRET1');
      await eventually(async () => {
        const { rows } = await h.sql.query(
          "select 1 from invitations where id = any($1) and delivery_status = 'sent'",
          [[byEmail.id, bySlack.id]],
        );
        return rows.length === 2;
      });

      const emailToken = await invitationLinkToken(h.services, byEmail.id);
      const dmToken = await invitationLinkToken(h.services, bySlack.id);
      expect(email.text).toContain(`${PUBLIC_URL}/invitations/${emailToken}`);
      expect(JSON.stringify(dm.args.blocks)).toContain(dmToken);

      const stored = [...(await everyRow()), ...(await everyRedisValue()), ...lines];
      expect(stored.some((text) => text.startsWith('invitations:'))).toBe(true);
      expect(stored.some((text) => text.startsWith('outbox:'))).toBe(true);
      expect(stored.some((text) => text.includes(`"invitationId":${byEmail.id}`))).toBe(true);
      for (const token of [emailToken, dmToken]) {
        expect(stored.filter((text) => text.includes(token))).toEqual([]);
      }
      expect(lines.filter((line) => line.includes('secret.keeper@example.com'))).toEqual([]);
    } finally {
      await workers.stop();
    }
  });

  it('cannot be derived without the server secret', async () => {
    const seeded = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(seeded.owner.actor, {
      email: 'derive@example.com',
    });
    const { rows } = await h.sql.query<{ token_nonce: string }>(
      'select token_nonce from invitations where id = $1',
      [invitation.id],
    );
    const guessed = new InvitationTokens('another-secret-another-secret-another').token(rows[0]!.token_nonce);
    await expect(h.services.invitations.inspect(guessed)).rejects.toThrow('not valid');
    await expect(
      h.services.invitations.inspect(await invitationLinkToken(h.services, invitation.id)),
    ).resolves.toMatchObject({ id: invitation.id });
  });

  it('a re-send mails a new link, and the earlier link stops working', async () => {
    const workers = startWorkers(
      {
        config: h.config,
        logger: pino({ level: 'silent' }),
        orm: h.orm,
        services: h.services,
        queues: h.queues,
      },
      { databaseUrl: h.db.url, relay: { pollIntervalMs: 200 } },
    );
    await workers.ready();
    try {
      const seeded = await seedTeam(h.services);
      const invitation = await h.services.invitations.invite(seeded.admin.actor, {
        email: 'twice@example.com',
      });
      const first = await h.smtp.waitFor((e) => e.to.includes('twice@example.com'));
      const firstToken = await invitationLinkToken(h.services, invitation.id);
      expect(first.text).toContain(firstToken);

      const resent = await h.services.invitations.resend(seeded.admin.actor, { id: invitation.id });
      expect(resent).toMatchObject({ id: invitation.id, status: 'pending', deliveryStatus: 'queued' });
      const second = await h.smtp.waitFor((e) => e.to.includes('twice@example.com') && e !== first);
      const secondToken = await invitationLinkToken(h.services, invitation.id);
      expect(secondToken).not.toBe(firstToken);
      expect(second.text).toContain(`${PUBLIC_URL}/invitations/${secondToken}`);

      await expect(h.services.invitations.inspect(firstToken)).rejects.toThrow('not valid');
      const accepted = await h.services.invitations.accept(secondToken, { name: 'Twice Invited' });
      expect(accepted.member).toMatchObject({ name: 'Twice Invited', status: 'active' });
      await expect(h.services.invitations.resend(seeded.admin.actor, { id: invitation.id })).rejects.toThrow(
        'already accepted',
      );
      await expect(h.services.invitations.resend(seeded.user.actor, { id: invitation.id })).rejects.toThrow();
    } finally {
      await workers.stop();
    }
  });

  it('a worker whose server secret changed sends nothing and says to re-send', async () => {
    const seeded = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(seeded.admin.actor, {
      email: 'changed@example.com',
    });
    const other = createServices(h.orm, { serverSecret: 'a-different-server-secret-of-32-chars' });
    const workers = startWorkers(
      { config: h.config, logger: pino({ level: 'silent' }), orm: h.orm, services: other, queues: h.queues },
      { databaseUrl: h.db.url, relay: { pollIntervalMs: 200 } },
    );
    await workers.ready();
    try {
      await eventually(async () => {
        const [listed] = await h.services.invitations.list(seeded.admin.actor);
        return listed?.id === invitation.id && listed.deliveryStatus === 'failed' ? listed : undefined;
      }).then((listed) => expect(listed.deliveryError).toMatch(/server secret changed.*re-send/));
      expect(h.smtp.received.filter((e) => e.to.includes('changed@example.com'))).toEqual([]);
    } finally {
      await workers.stop();
    }
  });
});
