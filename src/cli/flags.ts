import { InvalidArgumentError } from 'commander';
import { parseScopes } from '../app/api-tokens.js';
import { EXIT, UserError } from '../app/errors.js';
import type { ApiScope } from '../model/api-token.js';

/**
 * Typed parsers for flag values, run by commander before any command starts: a bad value is a
 * usage error (exit 2) that names the flag and what it accepts, and nothing has changed yet. A
 * typo must never turn a guardrail off (`--allow-deprovision abc` once read as "no limit").
 */

/** A whole number from `min` to `max`, written in plain digits (no signs, exponents or hex). */
export function wholeNumber(flag: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const trimmed = text.trim();
    const n = /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} takes a whole number from ${min} to ${max}, not "${text}".`);
    return n;
  };
}

/** A decimal number greater than 0 and at most `max` (a rate). */
export function positiveNumber(flag: string, max: number): (text: string) => number {
  return (text) => {
    const trimmed = text.trim();
    const n = /^\d{1,9}(\.\d{1,6})?$/.test(trimmed) ? Number(trimmed) : NaN;
    if (!(n > 0) || n > max)
      throw new InvalidArgumentError(`${flag} takes a number greater than 0 and at most ${max}, not "${text}".`);
    return n;
  };
}

/** The earliest and latest dates any flag accepts: a date outside them is a typo, not a plan. */
export const EARLIEST_YEAR = 1900;
export const LATEST_YEARS_AHEAD = 50;

/**
 * A date (YYYY-MM-DD, midnight UTC) or an ISO 8601 timestamp with a time zone, from 1900 to 50
 * years after `now`. Days that do not exist (2026-02-30) are refused rather than rolled over.
 */
export function dateFlag(flag: string, now: () => Date = () => new Date()): (text: string) => Date {
  return (text) => {
    const d = parseDate(text.trim());
    const hint = 'write YYYY-MM-DD or an ISO 8601 timestamp such as 2026-11-01T09:00:00Z';
    if (!d) throw new InvalidArgumentError(`${flag} takes a date, not "${text}": ${hint}.`);
    const latest = new Date(now());
    latest.setUTCFullYear(latest.getUTCFullYear() + LATEST_YEARS_AHEAD);
    if (d.getUTCFullYear() < EARLIEST_YEAR || d.getTime() > latest.getTime())
      throw new InvalidArgumentError(
        `${flag} ${text} is out of range: dates from ${EARLIEST_YEAR} to ${latest.toISOString().slice(0, 10)} are accepted.`,
      );
    return d;
  };
}

function parseDate(text: string): Date | undefined {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (day) {
    const d = new Date(`${text}T00:00:00Z`);
    // Date rolls 2026-02-30 over into March; a day that does not exist is a typo.
    return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== text ? undefined : d;
  }
  // A timestamp must say its zone: a bare local time means something else on every machine.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** One of a closed list of words. */
export function choice<T extends string>(flag: string, values: readonly T[]): (text: string) => T {
  return (text) => {
    const found = values.find((v) => v === text.trim().toLowerCase());
    if (found === undefined)
      throw new InvalidArgumentError(`${flag} takes one of ${values.join(', ')}, not "${text}".`);
    return found;
  };
}

/** Text that says something: a reason or a comment cannot be blank. */
export function nonBlank(flag: string): (text: string) => string {
  return (text) => {
    if (text.trim() === '') throw new InvalidArgumentError(`${flag} cannot be empty.`);
    return text.trim();
  };
}

/** A flag given once or more (`--identity A --identity B`), each value non-blank. */
export function repeated(flag: string): (text: string, previous: readonly string[] | undefined) => string[] {
  const one = nonBlank(flag);
  return (text, previous) => [...(previous ?? []), one(text)];
}

/** A date given as text to a command that does not parse it through commander (yet). */
export function dateText(text: string, flag: string): Date {
  try {
    return dateFlag(flag)(text);
  } catch (e) {
    throw new UserError((e as Error).message, EXIT.usage);
  }
}

/** API token scopes, comma-separated, each one of the closed list (the closest named when not). */
export function scopeList(): (text: string) => ApiScope[] {
  return (text) => {
    try {
      return parseScopes([text]);
    } catch (e) {
      const u = e as UserError;
      throw new InvalidArgumentError(`${u.message}${u.hint ? `; ${u.hint}` : ''}`);
    }
  };
}
