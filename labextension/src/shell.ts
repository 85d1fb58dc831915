/**
 * Shell syntax: the panel's one rule for it, which the form (a hint under
 * Command) and the job detail (a hint when a job failed to start) both use.
 *
 * A command runs as a program, not in a shell: the server splits it into
 * words as a POSIX shell would (quotes and backslashes honoured, nothing
 * expanded: flux_hub/restful/protocol.py, shlex) and Flux starts the first
 * word. What only a shell gives cannot work there: its keywords and
 * builtins ("for: No such file or directory"), a variable set before the
 * command, operators (; | & < > and backquotes), subshells and groups,
 * and expansions ($HOME, ${x}, $(…)). Inside single quotes nothing is
 * shell syntax; inside double quotes only expansions are.
 */

/** Words a shell gives that are no program: its keywords and builtins. */
export const SHELL_WORDS: ReadonlySet<string> = new Set([
  // keywords
  'for',
  'while',
  'until',
  'if',
  'case',
  'select',
  'function',
  '[[',
  '{',
  '!',
  // builtins with no program of their name
  '.',
  'source',
  'cd',
  'export',
  'unset',
  'alias',
  'eval',
  'exec',
  'declare',
  'local',
  'readonly',
  'set',
  'shopt',
  'ulimit',
  'umask',
  'trap',
  'pushd',
  'popd'
]);

/** `NAME=value` before a command: a variable only a shell sets. */
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** After a `$`, what makes it an expansion: a name, a digit, `{`, `(` or a special parameter. */
const EXPANSION = /[A-Za-z_0-9{(?@*#!$-]/;

/** Characters a shell reads as operators outside quotes. */
const OPERATORS = ';|&<>`';

/**
 * Whether `command` (a command line as typed) would only work in a shell.
 * One rule for every caller: the form asks it of what is typed, the job
 * detail of the job's command and of the program Flux could not start.
 */
export function looksLikeShell(command: string): boolean {
  const text = command.trim();
  if (text.startsWith('(') || text.startsWith('{')) {
    return true; // a subshell, a group or a brace expansion
  }
  let first = '';
  let started = false; // the first word has begun (quotes alone begin it)
  let firstDone = false;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const next = text[i + 1] ?? '';
    if (quote === "'") {
      if (c === "'") {
        quote = '';
      } else if (!firstDone) {
        first += c;
      }
      continue;
    }
    if (c === '`' || (c === '$' && EXPANSION.test(next))) {
      return true; // an expansion, in double quotes too
    }
    if (quote === '"') {
      if (c === '"') {
        quote = '';
      } else if (c === '\\' && next) {
        i++;
        if (!firstDone) {
          first += next;
        }
      } else if (!firstDone) {
        first += c;
      }
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      started = true;
      continue;
    }
    if (c === '\\') {
      i++;
      started = true;
      if (!firstDone) {
        first += next;
      }
      continue;
    }
    if (c === '\n' || OPERATORS.includes(c)) {
      return true;
    }
    if (/\s/.test(c)) {
      if (started && !firstDone) {
        firstDone = true;
        if (SHELL_WORDS.has(first) || ASSIGNMENT.test(first)) {
          return true;
        }
      }
      continue;
    }
    started = true;
    if (!firstDone) {
      first += c;
    }
  }
  return !firstDone && (SHELL_WORDS.has(first) || ASSIGNMENT.test(first));
}
