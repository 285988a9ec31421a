// Self-describing block patterns for a host that writes and later verifies: each block carries a
// header (magic, block index, generation) and pseudo-random bytes derived from (seed, block,
// generation), so any block read back can be checked without keeping its data, and a mismatch says
// which write it expected and which it found.

const MAGIC = Buffer.from('FERRYHW1');
export const PATTERN_HEADER_SIZE = 16;

export function fillPattern(buf: Buffer, seed: number, block: number, generation: number): Buffer {
  MAGIC.copy(buf, 0);
  buf.writeUInt32BE(block >>> 0, 8);
  buf.writeUInt32BE(generation >>> 0, 12);
  // xorshift32, seeded per block and generation: cheap and deterministic.
  let x = (seed ^ Math.imul(block + 1, 2654435761) ^ Math.imul(generation + 1, 40503)) | 0 || 1;
  for (let at = PATTERN_HEADER_SIZE; at + 4 <= buf.length; at += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeInt32LE(x, at);
  }
  return buf;
}

export interface PatternMismatch {
  block: number;
  expectedGeneration: number;
  /** What the block's header says it holds, or null when the header itself is not ours. */
  foundGeneration: number | null;
}

export function checkPattern(
  actual: Buffer,
  scratch: Buffer,
  seed: number,
  block: number,
  generation: number,
): PatternMismatch | null {
  fillPattern(scratch, seed, block, generation);
  if (actual.equals(scratch)) return null;
  const ours = actual.subarray(0, 8).equals(MAGIC) && actual.readUInt32BE(8) === block;
  return { block, expectedGeneration: generation, foundGeneration: ours ? actual.readUInt32BE(12) : null };
}
