import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';

/** Where the generated secret is kept when SERVER_SECRET is not set. */
export const SECRET_FILE = 'server-secret';

/**
 * The server secret that invitation tokens are derived from: SERVER_SECRET, or one generated on
 * first start and kept in DATA_DIR/server-secret (mode 0600). It is kept out of the database on
 * purpose: whoever reads the database or a backup must not be able to derive a link. Every
 * process that creates or sends invitations needs the same secret: set SERVER_SECRET when they
 * do not share DATA_DIR.
 */
export async function loadServerSecret(config: Pick<Config, 'serverSecret' | 'dataDir'>): Promise<string> {
  if (config.serverSecret) return config.serverSecret;
  const file = path.resolve(config.dataDir, SECRET_FILE);
  const existing = await readSecretFile(file);
  if (existing) return existing;
  await mkdir(path.dirname(file), { recursive: true });
  // Written aside and linked into place, so a process starting at the same time sees either no
  // file or a whole one; the second of two racing processes reads the first one's secret.
  const draft = `${file}.${process.pid}.tmp`;
  await writeFile(draft, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  try {
    await link(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(draft);
  }
  const created = await readSecretFile(file);
  if (!created) throw new Error(`${file} is empty: delete it to have a new secret generated`);
  return created;
}

async function readSecretFile(file: string): Promise<string | null> {
  try {
    return (await readFile(file, 'utf8')).trim() || null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
