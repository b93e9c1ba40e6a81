import { isMainThread, parentPort, Worker } from 'node:worker_threads';

/**
 * CPU-bound work on a thread of its own, so the event loop that answers Slack and HTTP keeps
 * turning while it runs. One long-lived thread, started on the first call and reused; input and
 * output cross as structured clones (plain data, bigints included). An error thrown by the work
 * rejects that call with its message; a thread that dies rejects what it had in hand and is
 * replaced on the next call. An idle thread does not keep the process alive; `close()` ends it.
 *
 * The thread runs `module` (a .ts file runs as the main process's own sources do: Node strips
 * the types), which hands its function to `serveOnThread`. One thread is all the charts need: a
 * pool library (piscina, tinypool) would bring sizing and queueing that nothing here uses.
 */
export class WorkerThread<Input, Output> {
  readonly #module: URL;
  readonly #name: string;
  #worker: Worker | null = null;
  readonly #calls = new Map<number, Call<Output>>();
  #nextId = 0;
  #closed = false;

  /** `name` says what the thread does, in the errors it gives. */
  constructor(module: URL, name: string) {
    this.#module = module;
    this.#name = name;
  }

  run(input: Input): Promise<Output> {
    if (this.#closed) return Promise.reject(new Error(`the ${this.#name} thread is closed`));
    const worker = this.#worker ?? this.#start();
    const id = ++this.#nextId;
    return new Promise<Output>((resolve, reject) => {
      try {
        worker.postMessage({ id, input } satisfies Request<Input>);
      } catch (error) {
        // Input that is not plain data (a function, a class instance with private state).
        reject(error);
        return;
      }
      this.#calls.set(id, { resolve, reject });
      worker.ref();
    });
  }

  /** Ends the thread; calls still under way are rejected, later ones refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (worker) await worker.terminate();
  }

  #start(): Worker {
    const worker = new Worker(this.#module, { name: this.#name });
    worker.unref();
    let crash: Error | undefined;
    worker.on('message', (reply: Reply<Output>) => {
      const call = this.#calls.get(reply.id);
      if (!call) return;
      this.#calls.delete(reply.id);
      if (this.#calls.size === 0) worker.unref();
      if (reply.ok) call.resolve(reply.output);
      else call.reject(new Error(reply.message));
    });
    // An uncaught error in the thread (or its module failing to load): 'exit' follows.
    worker.on('error', (error) => {
      crash = error;
    });
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#worker = null;
      const reason = this.#closed
        ? `the ${this.#name} thread was closed`
        : `the ${this.#name} thread stopped: ${crash?.message ?? `exit code ${code}`}`;
      for (const call of this.#calls.values()) call.reject(new Error(reason));
      this.#calls.clear();
    });
    this.#worker = worker;
    return worker;
  }
}

/** In the thread's module: answers each call with `work(input)`. */
export function serveOnThread<Input, Output>(work: (input: Input) => Output | Promise<Output>): void {
  if (isMainThread || !parentPort) throw new Error('serveOnThread runs in a worker thread');
  const port = parentPort;
  port.on('message', async ({ id, input }: Request<Input>) => {
    let reply: Reply<Output>;
    try {
      reply = { id, ok: true, output: await work(input) };
    } catch (error) {
      reply = { id, ok: false, message: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply);
  });
}

interface Call<Output> {
  resolve(output: Output): void;
  reject(error: unknown): void;
}

interface Request<Input> {
  id: number;
  input: Input;
}

type Reply<Output> = { id: number; ok: true; output: Output } | { id: number; ok: false; message: string };
