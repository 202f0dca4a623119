// The pixel body is the 43-byte transparent GIF it claims to be.
import { describe, expect, it } from 'vitest';
import { TRANSPARENT_GIF } from './gif.js';

describe('TRANSPARENT_GIF', () => {
  it('is a 43-byte 1×1 GIF89a with a transparent colour', () => {
    expect(TRANSPARENT_GIF.length).toBe(43);
    expect(TRANSPARENT_GIF.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(TRANSPARENT_GIF.readUInt16LE(6)).toBe(1);
    expect(TRANSPARENT_GIF.readUInt16LE(8)).toBe(1);
    // Graphic control extension with the transparency flag set, and the trailer.
    expect([...TRANSPARENT_GIF.subarray(19, 24)]).toEqual([0x21, 0xf9, 0x04, 0x01, 0x00]);
    expect(TRANSPARENT_GIF.at(-1)).toBe(0x3b);
  });
});
