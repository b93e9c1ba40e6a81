import type { SmsConfig } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import type { SmsProvider } from './provider.ts';
import { SandboxProvider } from './sandbox.ts';
import { SmstoProvider } from './smsto.ts';

export function createProvider(settings: Omit<SmsConfig, 'defaultPrice'>, logger: Logger): SmsProvider {
  if (settings.provider === 'smsto') {
    if (!settings.smsto) throw new Error('the smsto provider needs SMSTO_API_KEY');
    return new SmstoProvider(
      { ...settings.smsto, callbackUrl: settings.smstoWebhook?.url },
      logger.child({ component: 'smsto' }),
    );
  }
  return new SandboxProvider(settings.sandboxDelayMs);
}

export type { SmsProvider };
