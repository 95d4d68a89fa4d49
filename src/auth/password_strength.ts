// How long a password would take to guess, estimated offline by zxcvbn-ts with its English and common
// dictionaries (bundled into the binary; nothing is fetched). It catches what a list alone misses:
// "password123456" is not on the 10,000-word list, but it is a listed word plus a sequence, which
// zxcvbn scores as guessable in seconds.
import { type ZxcvbnFactory as Factory, ZxcvbnFactory } from "@zxcvbn-ts/core";

type Common = typeof import("@zxcvbn-ts/language-common");
type English = typeof import("@zxcvbn-ts/language-en");

/** zxcvbn's score 3: "safely unguessable" against an online attack, about 10^8 guesses. */
export const MIN_SCORE = 3;

let estimator: Factory | null = null;

function zxcvbn(): Factory {
  if (estimator) return estimator;
  // Loaded on first use, not imported: the dictionaries are ~30 MiB of strings in memory, which an
  // idle server (most of its life) need not hold, and they take a moment to load (docs/DATABASE.md).
  const common = require("@zxcvbn-ts/language-common") as Common;
  const english = require("@zxcvbn-ts/language-en") as English;
  estimator = new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
    // The check runs on the request's thread, so its cost is capped: matching grows with length (past
    // 64 characters the rest only adds strength) and with l33t substitutions tried (the default 100
    // took ~250 ms on a long passphrase, 8 takes ~60 ms and still sees "p4ssw0rd").
    maxLength: 64,
    l33tMaxSubstitutions: 8,
  });
  return estimator;
}

export type Strength = { score: number; warning: string | null; suggestion: string | null };

/** `userInputs`: words an attacker would try for this account (its email and the parts of it). */
export function passwordStrength(password: string, userInputs: string[] = []): Strength {
  const result = zxcvbn().check(password, userInputs);
  return {
    score: result.score,
    warning: result.feedback.warning || null,
    suggestion: result.feedback.suggestions[0] ?? null,
  };
}
