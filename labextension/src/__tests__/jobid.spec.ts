import {
  compareJobIds,
  formatF58,
  jobIdMatches,
  jobIdOf,
  jobIdSortKey,
  parseJobId
} from '../jobid';

/**
 * Made by flux-hub's reference (flux_hub/local/simflux/flux/job/JobID.py,
 * after flux-core): id_encode(id, "f58plain") with "ƒ" for its "f".
 */
const VECTORS: [string, string][] = [
  ['0', 'ƒ1'],
  ['1', 'ƒ2'],
  ['57', 'ƒz'],
  ['58', 'ƒ21'],
  ['63568871424', 'ƒ2frN5mZ'],
  ['9007199254740992', 'ƒ2DLNrMSKuh'], // 2^53
  ['9007199254740993', 'ƒ2DLNrMSKui'], // 2^53 + 1
  ['43486559021826048', 'ƒ6ra9Ab2w9q'], // an instance up for 30 days
  ['1152921504606859321', 'ƒ3gDmDv6tnx8'], // 2^60 + 12345
  ['73431393593518440', 'ƒAtQDC8sBZZ'], // seen on a long-running system
  ['9223372036854775807', 'ƒNQm6nKp8qFC'], // 2^63 - 1
  ['18446744073709551615', 'ƒjpXCZedGfVQ'] // 2^64 - 1
];

describe('F58', () => {
  it.each(VECTORS)('writes %s as %s', (id, f58) => {
    expect(formatF58(id)).toBe(f58);
  });

  it.each(VECTORS)('reads %s back from %s, with ƒ or f', (id, f58) => {
    expect(parseJobId(f58)).toBe(id);
    expect(parseJobId('f' + f58.slice(1))).toBe(id);
    expect(parseJobId(` ${id} `)).toBe(id);
  });

  it('reads no id from text that is none, or out of 64 bits', () => {
    for (const text of [
      '',
      'ƒ',
      'f',
      'ƒ0',
      'ƒO',
      'ƒl',
      'ƒI',
      'hello',
      '-1',
      '1.5',
      '0x10',
      '007',
      'ƒjpXCZedGfVR', // 2^64
      'ƒ1111111111111', // 13 digits
      '18446744073709551616' // 2^64
    ]) {
      expect(parseJobId(text)).toBeNull();
    }
  });
});

describe('jobIdOf', () => {
  it('takes the ids a parsed answer holds, as exact decimal text', () => {
    expect(jobIdOf(0)).toBe('0');
    expect(jobIdOf(63568871424)).toBe('63568871424');
    expect(jobIdOf(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
    expect(jobIdOf('1152921504606859321')).toBe('1152921504606859321');
    expect(jobIdOf(BigInt('18446744073709551615'))).toBe(
      '18446744073709551615'
    );
  });

  it('refuses what may be a wrong id', () => {
    for (const value of [
      2 ** 53, // a number that may already be rounded
      1.5,
      -1,
      NaN,
      '12a',
      '-5',
      '0012',
      '',
      '18446744073709551616',
      BigInt(-1),
      null,
      undefined,
      { id: 1 }
    ]) {
      expect(() => jobIdOf(value)).toThrow(/not a Flux job id/);
    }
  });
});

describe('ordering and matching ids', () => {
  it('compares ids as numbers', () => {
    expect(compareJobIds('9', '10')).toBeLessThan(0);
    expect(compareJobIds('10', '9')).toBeGreaterThan(0);
    expect(compareJobIds('1152921504606859322', '1152921504606859321')).toBe(1);
    expect(compareJobIds('9007199254740993', '9007199254740993')).toBe(0);
    expect(compareJobIds('99999999999999999', '100000000000000000')).toBe(-1);
    const sorted = ['100', '18446744073709551615', '9', '0', '9007199254740993']
      .map(jobIdSortKey)
      .sort();
    expect(sorted.map(key => key.replace(/^0+(?=.)/, ''))).toEqual([
      '0',
      '9',
      '100',
      '9007199254740993',
      '18446744073709551615'
    ]);
  });

  it('matches part of the decimal or of the F58, with or without a prefix', () => {
    const id = '73431393593518440'; // ƒAtQDC8sBZZ
    for (const needle of [
      '',
      '7343',
      '3518440',
      id,
      'ƒAtQDC8sBZZ',
      'fAtQDC8sBZZ',
      'AtQDC8sBZZ',
      'ƒAtQ',
      'fAtQ',
      'DC8s',
      'BZZ'
    ]) {
      expect(jobIdMatches(id, needle)).toBe(true);
    }
    for (const needle of [
      'ƒatqdc8sbzz',
      'AtQX',
      'ƒtQ',
      'fDC8s',
      '73431393593518441'
    ]) {
      expect(jobIdMatches(id, needle)).toBe(false);
    }
  });
});
