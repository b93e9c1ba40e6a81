import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SLACK_EVENTS_PATH } from '../../src/slack/index.ts';
import { OAUTH_REDIRECT_PATH } from '../../src/slack/oauth/install-routes.ts';
import { BOT_SCOPES } from '../../src/slack/oauth/scopes.ts';

const root = path.resolve(import.meta.dirname, '../..');

interface Manifest {
  _metadata: { major_version: number };
  display_information: { name: string; description: string };
  features: {
    app_home: { home_tab_enabled: boolean };
    bot_user: { display_name: string };
    slash_commands: {
      command: string;
      url: string;
      usage_hint: string;
      description: string;
      should_escape: boolean;
    }[];
  };
  oauth_config: { redirect_urls: string[]; scopes: { bot: string[] } };
  settings: {
    event_subscriptions: { request_url: string; bot_events: string[] };
    interactivity: { is_enabled: boolean; request_url: string };
  };
}

/** The bot scope each Web API method teamops calls needs; views.* need none. */
const METHOD_SCOPES: Record<string, string | null> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'conversations.open': 'im:write',
  'files.getUploadURLExternal': 'files:write',
  'files.completeUploadExternal': 'files:write',
  'users.info': 'users:read',
  'views.open': null,
  'views.push': null,
  'views.update': null,
  'views.publish': null,
};

/** Needed though no call names them: the command itself, emails in users.info, posting to channels not joined. */
const IMPLIED_SCOPES = ['commands', 'users:read.email', 'chat:write.public'];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

describe('manifest.yml', () => {
  it('is a complete app manifest: bot user, /team with a usage hint, interactivity, App Home and its event', async () => {
    const manifest = parse(await readFile(path.join(root, 'manifest.yml'), 'utf8')) as Manifest;
    expect(manifest._metadata.major_version).toBe(2);
    expect(manifest.display_information.name).toBe('teamops');
    expect(manifest.display_information.description.length).toBeLessThanOrEqual(140);
    expect(manifest.features.bot_user.display_name).toBeTruthy();
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    const [team] = manifest.features.slash_commands;
    expect(manifest.features.slash_commands).toHaveLength(1);
    expect(team).toMatchObject({ command: '/team', should_escape: true });
    expect(team!.usage_hint.length).toBeGreaterThan(0);
    expect(team!.usage_hint.length).toBeLessThanOrEqual(1_000);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual([
      'app_home_opened',
      'app_uninstalled',
      'tokens_revoked',
    ]);
    expect(manifest.oauth_config.redirect_urls).toEqual([
      `https://teamops.example.com${OAUTH_REDIRECT_PATH}`,
    ]);
    for (const url of [
      team!.url,
      manifest.settings.interactivity.request_url,
      manifest.settings.event_subscriptions.request_url,
    ])
      expect(url).toBe(`https://teamops.example.com${SLACK_EVENTS_PATH}`);
  });

  it('asks for exactly the scopes the code needs', async () => {
    const manifest = parse(await readFile(path.join(root, 'manifest.yml'), 'utf8')) as Manifest;
    const files = [...(await sourceFiles(path.join(root, 'src/slack')))];
    const methods = new Set<string>();
    for (const file of files)
      for (const match of (await readFile(file, 'utf8')).matchAll(/client\.(\w+)\.(\w+)\(/g))
        methods.add(`${match[1]}.${match[2]}`);
    const unknown = [...methods].filter((method) => !(method in METHOD_SCOPES));
    expect(unknown, 'add the scope of each new Web API method to METHOD_SCOPES and the manifest').toEqual([]);
    const needed = new Set(
      [...methods].map((method) => METHOD_SCOPES[method]).filter((s): s is string => !!s),
    );
    for (const scope of IMPLIED_SCOPES) needed.add(scope);
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
    // What /slack/install asks a workspace for.
    expect([...BOT_SCOPES].sort()).toEqual([...manifest.oauth_config.scopes.bot].sort());
  });
});
