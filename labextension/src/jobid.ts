/**
 * Flux job ids.
 *
 * A Flux job id is a 64-bit FLUID: the milliseconds since the instance
 * started, shifted left by 24 bits, plus the generator and a sequence number.
 * An instance up for more than 2^29 ms (6.2 days) gives ids above 2^53, which
 * a JavaScript number cannot hold exactly, so the panel keeps every id as its
 * exact decimal text (a JobId) from the answer it was read from to the URL it
 * is sent back in, and shows it as Flux users see it in `flux jobs`: F58.
 */

/** A job id as its exact decimal text, e.g. "43486559021826048". */
export type JobId = string;

/** The base58 digits of F58, as in flux-core (no 0, O, I or l). */
const F58_DIGITS = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** The F58 prefix "ƒ" (U+0192); Flux also reads a plain "f". */
export const F58_PREFIX = '\u0192';
const F58_ASCII_PREFIX = 'f';
/** Every id fits in 64 bits, so no id has more decimal digits than 2^64 - 1. */
const MAX_DIGITS = 20;
const MAX_ID = (BigInt(1) << BigInt(64)) - BigInt(1);
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * The JobId of an id as a parsed answer holds it: a safe integer, the decimal
 * text of an integer too big for a number (as the exact parser keeps it), or
 * a bigint. Throws on anything else, rather than use an id that may be wrong.
 */
export function jobIdOf(value: unknown): JobId {
  if (typeof value === 'string' && DECIMAL.test(value) && isInRange(value)) {
    return value;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    return String(value);
  }
  if (typeof value === 'bigint' && value >= BigInt(0) && value <= MAX_ID) {
    return value.toString();
  }
  throw new Error(
    `The server sent a job id that is not a Flux job id: ${String(value)}`
  );
}

function isInRange(decimal: string): boolean {
  return (
    decimal.length < MAX_DIGITS ||
    (decimal.length === MAX_DIGITS && BigInt(decimal) <= MAX_ID)
  );
}

/** F58 encodings already computed: the table asks for each row's often. */
const f58Cache = new Map<JobId, string>();
const F58_CACHE_SIZE = 20000;

/**
 * The id as `flux jobs` shows it: "ƒ" and base58, most significant digit
 * first. A row's id that is not a job's (a held job's, "h…") as it is.
 */
export function formatF58(id: JobId): string {
  let text = f58Cache.get(id);
  if (text === undefined) {
    if (!DECIMAL.test(id)) {
      return id;
    }
    text = F58_PREFIX + base58(BigInt(id));
    if (f58Cache.size >= F58_CACHE_SIZE) {
      f58Cache.clear();
    }
    f58Cache.set(id, text);
  }
  return text;
}

function base58(value: bigint): string {
  const base = BigInt(58);
  let digits = '';
  do {
    digits = F58_DIGITS[Number(value % base)] + digits;
    value /= base;
  } while (value > BigInt(0));
  return digits;
}

/**
 * The JobId of an id as a person writes it: decimal, or F58 with "ƒ" or "f"
 * before it. Null when it is neither, or out of a job id's range.
 */
export function parseJobId(text: string): JobId | null {
  const s = text.trim();
  if (DECIMAL.test(s)) {
    return isInRange(s) ? s : null;
  }
  if (!s.startsWith(F58_PREFIX) && !s.startsWith(F58_ASCII_PREFIX)) {
    return null;
  }
  const digits = s.slice(1);
  if (digits.length === 0 || digits.length > 12) {
    return null;
  }
  let value = BigInt(0);
  for (const char of digits) {
    const digit = F58_DIGITS.indexOf(char);
    if (digit < 0) {
      return null;
    }
    value = value * BigInt(58) + BigInt(digit);
  }
  return value <= MAX_ID ? value.toString() : null;
}

/** Order of the ids' values (decimal text of no leading zeros: by length, then text). */
export function compareJobIds(a: JobId, b: JobId): number {
  if (a.length !== b.length) {
    return a.length - b.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A key that sorts as the id's value when compared as text. */
export function jobIdSortKey(id: JobId): string {
  return id.padStart(MAX_DIGITS, '0');
}

/**
 * Whether the text a person typed into the filter is part of the id: of its
 * decimal, or of its F58 written with "ƒ", with "f", or with no prefix. F58
 * tells upper from lower case, so this does too.
 */
export function jobIdMatches(id: JobId, needle: string): boolean {
  if (!needle) {
    return true;
  }
  if (id.includes(needle)) {
    return true;
  }
  const f58 = formatF58(id);
  return (
    f58.includes(needle) ||
    (needle.startsWith(F58_ASCII_PREFIX) &&
      (F58_ASCII_PREFIX + f58.slice(1)).includes(needle))
  );
}
