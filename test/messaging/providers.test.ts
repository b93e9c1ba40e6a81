import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { ProviderUnavailableError } from '../../src/messaging/providers/provider.ts';
import { SANDBOX_FAILURE, SandboxProvider } from '../../src/messaging/providers/sandbox.ts';
import { SmstoProvider } from '../../src/messaging/providers/smsto.ts';
import { type FakeSmsto, startFakeSmsto } from './fake-smsto.ts';

describe('sandbox provider', () => {
  const sandbox = new SandboxProvider(1_000);

  it('accepts every message and reports it delivered once the delay has passed', async () => {
    const sent = await sandbox.send({ id: '7', to: '+491701234567', text: 'hi', senderId: null });
    expect(sent).toEqual({ accepted: true, providerMessageId: 'sandbox-7' });
    const query = { providerMessageId: 'sandbox-7', to: '+491701234567' };
    expect(await sandbox.checkStatus({ ...query, sentAt: new Date() })).toEqual({ status: 'sent' });
    expect(await sandbox.checkStatus({ ...query, sentAt: new Date(Date.now() - 1_500) })).toEqual({
      status: 'delivered',
    });
  });

  it('always fails the documented test numbers +1 500 555 0000 to 0099', async () => {
    const sentAt = new Date(Date.now() - 5_000);
    for (const to of ['+15005550000', '+15005550042', '+15005550099']) {
      expect(await sandbox.checkStatus({ providerMessageId: 'x', to, sentAt })).toEqual({
        status: 'failed',
        error: SANDBOX_FAILURE,
      });
    }
    expect(await sandbox.checkStatus({ providerMessageId: 'x', to: '+15005550100', sentAt })).toEqual({
      status: 'delivered',
    });
  });
});

describe('SMS.to provider against a local fake', () => {
  let fake: FakeSmsto;
  let smsto: SmstoProvider;
  beforeAll(async () => {
    fake = await startFakeSmsto('secret-key');
    smsto = new SmstoProvider({ apiUrl: `${fake.url}/`, apiKey: 'secret-key' }, createLogger('silent'));
  });
  afterAll(() => fake.close());

  it('sends with the bearer key and JSON body SMS.to expects, and keeps its message id', async () => {
    const outcome = await smsto.send({ id: '1', to: '+491701234567', text: 'Grüße', senderId: 'ACME' });
    expect(outcome).toEqual({ accepted: true, providerMessageId: 'fake-1' });
    expect(fake.requests.at(-1)).toEqual({
      method: 'POST',
      path: '/sms/send',
      authorization: 'Bearer secret-key',
      body: { to: '+491701234567', message: 'Grüße', sender_id: 'ACME' },
    });
  });

  it('maps SMS.to statuses to delivered, failed or still sent', async () => {
    fake.statuses.set('fake-1', 'DELIVERED');
    fake.statuses.set('fake-2', 'REJECTED');
    const at = { to: '+491701234567', sentAt: new Date() };
    expect(await smsto.checkStatus({ providerMessageId: 'fake-1', ...at })).toEqual({ status: 'delivered' });
    expect(await smsto.checkStatus({ providerMessageId: 'fake-2', ...at })).toEqual({
      status: 'failed',
      error: 'SMS.to reported REJECTED',
    });
    expect(await smsto.checkStatus({ providerMessageId: 'fake-3', ...at })).toEqual({ status: 'sent' });
  });

  it('a 422 refuses the message for good; a 5xx or a wrong key is temporary', async () => {
    fake.failNextSends(1, 422, { success: false, message: 'The to field is invalid.' });
    expect(await smsto.send({ id: '2', to: '+491701234567', text: 'x', senderId: null })).toEqual({
      accepted: false,
      error: 'SMS.to refused the message: The to field is invalid.',
    });
    fake.failNextSends(1, 503, { success: false, message: 'Down for maintenance' });
    await expect(smsto.send({ id: '3', to: '+491701234567', text: 'x', senderId: null })).rejects.toThrow(
      ProviderUnavailableError,
    );
    const wrongKey = new SmstoProvider({ apiUrl: fake.url, apiKey: 'nope' }, createLogger('silent'));
    await expect(wrongKey.send({ id: '4', to: '+491701234567', text: 'x', senderId: null })).rejects.toThrow(
      ProviderUnavailableError,
    );
  });

  it('an unreachable server is temporary', async () => {
    const gone = new SmstoProvider(
      { apiUrl: 'http://127.0.0.1:9', apiKey: 'k', timeoutMs: 2_000 },
      createLogger('silent'),
    );
    await expect(gone.send({ id: '5', to: '+491701234567', text: 'x', senderId: null })).rejects.toThrow(
      ProviderUnavailableError,
    );
  });
});
