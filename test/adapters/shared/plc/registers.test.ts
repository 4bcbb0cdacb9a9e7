import { describe, expect, it } from 'vitest';
import { decodeAscii, decodeValue, encodeAscii, encodeValue, type RegisterOrder } from '../../../../adapters/shared/plc/registers.ts';
import { CircuitBreaker } from '../../../../adapters/shared/plc/circuit-breaker.ts';

const order = (w: 'big' | 'little', b: 'big' | 'little'): RegisterOrder => ({ wordOrder: w, byteOrder: b });

describe('register encoding', () => {
  it.each([
    ['ABCD', order('big', 'big'), [0x1122, 0x3344]],
    ['CDAB', order('little', 'big'), [0x3344, 0x1122]],
    ['BADC', order('big', 'little'), [0x2211, 0x4433]],
    ['DCBA', order('little', 'little'), [0x4433, 0x2211]],
  ] as const)('uint32 0x11223344 in %s', (_name, o, expected) => {
    const out = [0, 0];
    encodeValue(out, 0, 'uint32', 0x11223344, 1, o);
    expect(out).toEqual(expected);
    expect(decodeValue(out, 0, 'uint32', o)).toBe(0x11223344);
  });

  it('float32 round-trips in every order and matches the IEEE bytes of 1.5 (0x3FC00000)', () => {
    const out = [0, 0];
    encodeValue(out, 0, 'float32', 1.5, 1, order('big', 'big'));
    expect(out).toEqual([0x3fc0, 0x0000]);
    for (const o of [order('little', 'big'), order('big', 'little'), order('little', 'little')]) {
      encodeValue(out, 0, 'float32', -12.25, 1, o);
      expect(decodeValue(out, 0, 'float32', o)).toBe(-12.25);
    }
  });

  it('scales, rounds and saturates integers instead of wrapping', () => {
    const out = [0];
    encodeValue(out, 0, 'int16', 0.1234, 1000, order('big', 'big'));
    expect(decodeValue(out, 0, 'int16')).toBe(123);
    encodeValue(out, 0, 'int16', 40, 1000, order('big', 'big'));
    expect(decodeValue(out, 0, 'int16')).toBe(32767);
    encodeValue(out, 0, 'int16', -40, 1000, order('big', 'big'));
    expect(decodeValue(out, 0, 'int16')).toBe(-32768);
    encodeValue(out, 0, 'uint16', -5, 1, order('big', 'big'));
    expect(out[0]).toBe(0);
    encodeValue(out, 0, 'int16', Number.NaN, 1, order('big', 'big'));
    expect(out[0]).toBe(0);
  });

  it('packs ASCII two characters per register, NUL padded, truncated to fit', () => {
    const out = new Array(4).fill(0xffff);
    encodeAscii(out, 0, 3, 'SN-12');
    expect(out).toEqual([0x534e, 0x2d31, 0x3200, 0xffff]);
    expect(decodeAscii(out, 0, 3)).toBe('SN-12');
    encodeAscii(out, 0, 2, 'TOO-LONG');
    expect(decodeAscii(out, 0, 2)).toBe('TOO-');
  });
});

describe('CircuitBreaker', () => {
  it('opens after the threshold, lets one trial through after the backoff and doubles the backoff when it fails', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 2, initialBackoffMs: 100, maxBackoffMs: 300, now: () => now });
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    now = 100;
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // one trial at a time
    b.failure();
    expect(b.retryInMs).toBe(200);
    now = 300;
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.retryInMs).toBe(300); // capped
    now = 600;
    expect(b.tryAcquire()).toBe(true);
    b.success();
    expect(b.state).toBe('closed');
    expect(b.opened).toBe(3);
  });
});
