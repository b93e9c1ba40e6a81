import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of this process, of PostgreSQL's processes and of Redis, read from /proc (Linux), so
 * a bench can say where a path spends the machine's cores. Processes that exit between two
 * readings take their time with them; PostgreSQL's backends live as long as the bench's pools.
 */
export interface CpuReading {
  node: number;
  postgres: number;
  redis: number;
}

const TICKS_PER_SECOND = 100;

function cpuSecondsOf(match: (command: string, pid: number) => boolean): number {
  let ticks = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return Number.NaN;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!match(command, Number(entry))) continue;
      // Fields after the command: state is the first; utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended while being read.
    }
  }
  return ticks / TICKS_PER_SECOND;
}

export function readCpu(): CpuReading {
  return {
    node: cpuSecondsOf((_command, pid) => pid === process.pid),
    postgres: cpuSecondsOf((command) => command.startsWith('postgres')),
    redis: cpuSecondsOf((command) => command.startsWith('redis')),
  };
}

/** CPU seconds spent per 1,000 jobs between two readings. */
export function cpuPerThousand(before: CpuReading, after: CpuReading, jobs: number): CpuReading {
  const per = (key: keyof CpuReading) => Math.max(0, ((after[key] - before[key]) * 1000) / jobs);
  return { node: per('node'), postgres: per('postgres'), redis: per('redis') };
}

/** CPU seconds of these processes (a bench's child processes), read the same way. */
export function cpuOfProcesses(pids: readonly number[]): number {
  return cpuSecondsOf((_command, pid) => pids.includes(pid));
}
