/**
 * Frames between a connection that reads eagerly and a consumer that may be slower: at most `capacity` wait,
 * and a newer frame pushes the oldest out (counted in `dropped`) instead of building a backlog. Readers that
 * arrive first wait for the next frame or for the end.
 */
interface Waiter<T> {
  resolve: (r: IteratorResult<T>) => void;
  reject: (e: unknown) => void;
}

export class FrameQueue<T> {
  /** Frames pushed out by newer ones before anyone took them. */
  dropped = 0;
  private readonly items: T[] = [];
  private readonly waiters: Waiter<T>[] = [];
  private ended = false;
  private failure: Error | null = null;

  constructor(private readonly capacity: number) {}

  get isEnded(): boolean {
    return this.ended;
  }

  push(item: T): void {
    const w = this.waiters.shift();
    if (w) return w.resolve({ value: item, done: false });
    this.items.push(item);
    while (this.items.length > this.capacity) {
      this.items.shift();
      this.dropped++;
    }
  }

  /** A push now would push the oldest frame out (nobody is waiting and `capacity` frames wait). */
  get full(): boolean {
    return this.waiters.length === 0 && this.items.length >= this.capacity;
  }

  /** Drop every waiting frame (counted in `dropped`). */
  clear(): void {
    this.dropped += this.items.length;
    this.items.length = 0;
  }

  /** The oldest waiting frame, or the next to arrive; after end(), what is left, then done (or the error). */
  next(): Promise<IteratorResult<T, undefined>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** No more frames. With an error, readers get it once the frames still waiting have been taken. Idempotent. */
  end(error: Error | null): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    // Waiters exist only while no frame waits, so they get the end at once.
    for (const w of this.waiters.splice(0)) {
      if (error) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }
}
