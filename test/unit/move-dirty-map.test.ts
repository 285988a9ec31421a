import { describe, expect, it } from 'vitest';
import { DirtyMap } from '../../agent/move/dirty-map.js';

const K = 1024;

describe('DirtyMap', () => {
  it('marks whole granules and reports byte runs clipped to the query', () => {
    const map = new DirtyMap(1024 * K, 64 * K);
    expect(map.mark(70 * K, 10)).toBe(true);
    expect(map.mark(64 * K, 64 * K)).toBe(false); // same granule: nothing new
    expect(map.dirtyBytes).toBe(64 * K);
    expect(map.runs()).toEqual([{ offset: 64 * K, length: 64 * K }]);
    expect(map.runs(100 * K, 200 * K)).toEqual([{ offset: 100 * K, length: 28 * K }]);
    map.mark(128 * K, 1);
    expect(map.runs()).toEqual([{ offset: 64 * K, length: 128 * K }]);
    map.clear(64 * K, 64 * K);
    expect(map.runs()).toEqual([{ offset: 128 * K, length: 64 * K }]);
    expect(map.isMarked(0, 128 * K)).toBe(false);
    expect(map.isMarked(190 * K, 1)).toBe(true);
  });

  it('counts only the bytes inside the volume for the last partial granule', () => {
    const map = new DirtyMap(100 * K, 64 * K);
    map.mark(99 * K, K);
    expect(map.dirtyBytes).toBe(36 * K);
    expect(map.runs()).toEqual([{ offset: 64 * K, length: 36 * K }]);
  });

  it('survives serialization and refuses a map of another volume size', () => {
    const map = new DirtyMap(8 * 1024 * K, 64 * K);
    map.mark(0, 1);
    map.mark(5 * 1024 * K, 300 * K);
    const data = JSON.parse(JSON.stringify(map.serialize()));
    const back = DirtyMap.deserialize(data, 8 * 1024 * K);
    expect(back.runs()).toEqual(map.runs());
    expect(() => DirtyMap.deserialize(data, 4 * 1024 * K)).toThrow(/another volume/);
  });

  it('merges maps of the same or another granule', () => {
    const a = new DirtyMap(1024 * K, 64 * K);
    const b = new DirtyMap(1024 * K, 64 * K);
    b.mark(512 * K, 64 * K);
    expect(a.merge(b)).toBe(true);
    expect(a.merge(b)).toBe(false);
    const coarse = new DirtyMap(1024 * K, 256 * K);
    coarse.mark(0, 1);
    a.merge(coarse);
    expect(a.runs()).toEqual([
      { offset: 0, length: 256 * K },
      { offset: 512 * K, length: 64 * K },
    ]);
    expect(a.clone().dirtyBytes).toBe(320 * K);
  });

  it('grows the granule for huge volumes so the bitmap stays bounded', () => {
    expect(DirtyMap.granuleFor(1024 ** 4)).toBe(64 * K);
    expect(DirtyMap.granuleFor(16 * 1024 ** 4)).toBe(1024 * K);
  });
});
