import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findOrInstallChromium } from '../helpers/chromium.ts';

/**
 * Where the page tests' browser comes from on a machine without one. The machine's own apt-get
 * and chromium are left alone (other tests use them): PATH holds a stand-in apt-get that records
 * its calls and "installs" a chromium into another folder on the same PATH.
 */
let folder: string;
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function machineWithoutChromium() {
  folder = await mkdtemp(path.join(tmpdir(), 'teamops-chromium-'));
  const sbin = path.join(folder, 'sbin');
  const bin = path.join(folder, 'bin');
  await mkdir(sbin);
  await mkdir(bin);
  const calls = path.join(folder, 'apt-calls');
  await writeFile(
    path.join(sbin, 'apt-get'),
    `#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> ${calls}\nif [ "$1" = install ]; then printf '#!/bin/sh\\n' > ${bin}/chromium; /bin/chmod +x ${bin}/chromium; fi\n`,
  );
  await chmod(path.join(sbin, 'apt-get'), 0o755);
  const env = { PATH: `${sbin}:${bin}` };
  return {
    env,
    bin,
    aptCalls: async () => (await readFile(calls, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean),
  };
}

describe('the browser for the page tests', () => {
  it("as root without chromium: installs Debian's with apt, says so, and uses it", async () => {
    const machine = await machineWithoutChromium();
    const said: string[] = [];
    const found = await findOrInstallChromium({ env: machine.env, isRoot: true, say: (l) => said.push(l) });
    expect(found).toBe(path.join(machine.bin, 'chromium'));
    expect(await machine.aptCalls()).toEqual([
      'noninteractive update -qq',
      'noninteractive install -y -qq chromium',
    ]);
    expect(said[0]).toContain("installing Debian's chromium");

    // The next run finds it and installs nothing.
    expect(await findOrInstallChromium({ env: machine.env, isRoot: true, say: () => {} })).toBe(found);
    expect(await machine.aptCalls()).toHaveLength(2);
  });

  it('without root and without chromium: fails with what to install, never skips', async () => {
    const machine = await machineWithoutChromium();
    await expect(findOrInstallChromium({ env: machine.env, isRoot: false })).rejects.toThrow(
      /the page tests need Chromium: install Debian's chromium .* or set CHROMIUM_PATH/,
    );
    expect(await machine.aptCalls()).toEqual([]);
  });

  it('CHROMIUM_PATH wins, and a wrong one is named', async () => {
    const machine = await machineWithoutChromium();
    const own = path.join(machine.bin, 'my-chrome');
    await writeFile(own, '#!/bin/sh\n');
    await chmod(own, 0o755);
    expect(await findOrInstallChromium({ env: { ...machine.env, CHROMIUM_PATH: own }, isRoot: true })).toBe(
      own,
    );
    await expect(
      findOrInstallChromium({ env: { ...machine.env, CHROMIUM_PATH: '/nowhere/chrome' }, isRoot: true }),
    ).rejects.toThrow('CHROMIUM_PATH=/nowhere/chrome is not an executable file');
    expect(await machine.aptCalls()).toEqual([]);
  });
});
