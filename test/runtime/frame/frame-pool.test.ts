import { describe, expect, it } from 'vitest';
import { FramePool } from '../../../runtime/frame/frame-pool.ts';
import { FrameQueue } from '../../../runtime/pipeline/frame-queue.ts';

describe('FramePool', () => {
  it('hands out each preallocated slot once and counts exhaustion', () => {
    const pool = new FramePool(2, 16);
    const a = pool.acquire();
    const b = pool.acquire();
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(a).not.toBe(b);
    expect(pool.acquire()).toBeNull();
    expect(pool.exhausted).toBe(1);
    pool.release(a!);
    expect(pool.acquire()).toBe(a);
  });

  it('reuses the same buffers instead of allocating', () => {
    const pool = new FramePool(1, 8);
    const first = pool.acquire()!;
    const buffer = first.data.buffer;
    pool.release(first);
    expect(pool.acquire()!.data.buffer).toBe(buffer);
  });

  it('refuses a double release', () => {
    const pool = new FramePool(1, 8);
    const s = pool.acquire()!;
    pool.release(s);
    expect(() => pool.release(s)).toThrow(/twice/);
  });

  it('clears the part id and truth on release', () => {
    const pool = new FramePool(1, 8);
    const s = pool.acquire()!;
    s.partId = 'P-1';
    pool.release(s);
    expect(pool.acquire()!.partId).toBeNull();
  });
});

describe('FrameQueue', () => {
  it('is FIFO and bounded', () => {
    const pool = new FramePool(3, 1);
    const q = new FrameQueue(2);
    const [a, b, c] = [pool.acquire()!, pool.acquire()!, pool.acquire()!];
    q.push(a);
    q.push(b);
    expect(q.full).toBe(true);
    expect(() => q.push(c)).toThrow(/overflow/);
    expect(q.shift()).toBe(a);
    q.push(c);
    expect(q.shift()).toBe(b);
    expect(q.shift()).toBe(c);
    expect(q.shift()).toBeNull();
  });
});
