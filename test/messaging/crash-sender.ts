/**
 * A sender process for the crash test: sends `count` one-part messages for one member, 64 at a
 * time, each with the idempotency key `crash-<i>`, and prints "<i> <message id>" as each is
 * answered. The test kills it mid-run and sends them all again from a new process.
 * Usage: node test/messaging/crash-sender.ts <database url> <member id> <count>
 */
import { createServices } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { connectOrm } from '../../src/orm.ts';
import { memberActor } from '../../src/shared/actor.ts';

const [url, memberId, count] = process.argv.slice(2);
const orm = await connectOrm(url!, undefined, { pool: { min: 0, max: 8 } });
const services = createServices(orm, { sms: loadConfig({}).sms });
const actor = memberActor(Number(memberId), 'api');
let next = 0;
await Promise.all(
  Array.from({ length: 64 }, async () => {
    while (next < Number(count)) {
      const i = next++;
      const result = await services.messaging.send(actor, {
        to: '+4917012345678',
        message: `crash test ${i}`,
        idempotencyKey: `crash-${i}`,
      });
      process.stdout.write(`${i} ${result.messages[0]!.id}\n`);
    }
  }),
);
await orm.close();
