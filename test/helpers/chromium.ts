import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The browser the page tests drive. The project brings it itself rather than a README step:
 * CHROMIUM_PATH when set; else `chromium` on PATH; else, as root on Debian, Debian's own
 * `chromium` is installed with apt (once per machine, about two minutes); else the run stops with
 * one line saying what to install. Never a silent skip.
 */
export interface ChromiumOptions {
  env?: NodeJS.ProcessEnv;
  isRoot?: boolean;
  say?: (line: string) => void;
}

export async function findOrInstallChromium(options: ChromiumOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (env.CHROMIUM_PATH) {
    if (!executable(env.CHROMIUM_PATH))
      throw new Error(`CHROMIUM_PATH=${env.CHROMIUM_PATH} is not an executable file`);
    return env.CHROMIUM_PATH;
  }
  const found = onPath('chromium', env);
  if (found) return found;
  const aptGet = onPath('apt-get', env);
  if (!isRoot || !aptGet) {
    throw new Error(
      "the page tests need Chromium: install Debian's chromium (apt-get install chromium, as root) or set CHROMIUM_PATH to a Chromium or Chrome binary",
    );
  }
  say("installing Debian's chromium for the page tests (once for this machine, about two minutes)…");
  const started = Date.now();
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await run(aptGet, ['update', '-qq'], { env: aptEnv, maxBuffer: 64 << 20 });
    await run(aptGet, ['install', '-y', '-qq', 'chromium'], { env: aptEnv, maxBuffer: 64 << 20 });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(
      `apt-get could not install chromium: ${(stderr ?? String(error)).trim().split('\n').pop()}`,
    );
  }
  const installed = onPath('chromium', env);
  if (!installed) throw new Error('apt-get installed chromium, but no chromium is on PATH');
  say(`chromium installed in ${Math.round((Date.now() - started) / 1000)} s: ${installed}`);
  return installed;
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, command);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
