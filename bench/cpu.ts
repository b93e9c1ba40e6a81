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
  /** Per process, so a process that exits between two readings does not make the difference negative. */
  byPid?: Map<number, number>;
}

const TICKS_PER_SECOND = 100;

function cpuSecondsOf(match: (command: string, pid: number) => boolean, byPid?: Map<number, number>): number {
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
      const own = Number(fields[11]) + Number(fields[12]);
      ticks += own;
      byPid?.set(Number(entry), own / TICKS_PER_SECOND);
    } catch {
      // The process ended while being read.
    }
  }
  return ticks / TICKS_PER_SECOND;
}

export function readCpu(): CpuReading {
  const byPid = new Map<number, number>();
  return {
    node: cpuSecondsOf((_command, pid) => pid === process.pid),
    postgres: cpuSecondsOf((command) => command.startsWith('postgres'), byPid),
    redis: cpuSecondsOf((command) => command.startsWith('redis')),
    byPid,
  };
}

/**
 * CPU seconds spent per 1,000 jobs between two readings. PostgreSQL's share counts the backends
 * alive at the second reading (a backend that started since, from zero): one that ended in
 * between, a pool's idle connection say, took its time with it.
 */
export function cpuPerThousand(before: CpuReading, after: CpuReading, jobs: number): CpuReading {
  const per = (seconds: number) => Math.max(0, (seconds * 1000) / jobs);
  let postgres = after.postgres - before.postgres;
  if (before.byPid && after.byPid) {
    postgres = 0;
    for (const [pid, seconds] of after.byPid) postgres += seconds - (before.byPid.get(pid) ?? 0);
  }
  return {
    node: per(after.node - before.node),
    postgres: per(postgres),
    redis: per(after.redis - before.redis),
  };
}

/** CPU seconds of these processes (a bench's child processes), read the same way. */
export function cpuOfProcesses(pids: readonly number[]): number {
  return cpuSecondsOf((_command, pid) => pids.includes(pid));
}
