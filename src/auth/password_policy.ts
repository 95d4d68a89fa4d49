// OWASP ASVS password rules: length (12 to 256, counted in code points so nothing is truncated), no
// composition rules, not one of the 10,000 most common passwords (MIT-licensed list from zxcvbn-ts,
// ordered by frequency), and not guessable according to zxcvbn's estimate (password_strength.ts),
// which also catches variations of listed ones and passwords made of the account's own email.
import commonPasswordsText from "./common_passwords.txt" with { type: "text" };
import { MIN_SCORE, passwordStrength } from "./password_strength.ts";

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

const COMMON = new Set(commonPasswordsText.split("\n").filter(Boolean));

export type PasswordProblem = {
  code: "password_too_short" | "password_too_long" | "password_common" | "password_weak";
  message: string;
};

export function checkPassword(password: string, email?: string): PasswordProblem | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN) {
    return { code: "password_too_short", message: `The password needs at least ${PASSWORD_MIN} characters.` };
  }
  if (length > PASSWORD_MAX) {
    return {
      code: "password_too_long",
      message: `The password can have at most ${PASSWORD_MAX} characters.`,
    };
  }
  const lowered = password.toLowerCase();
  if (COMMON.has(lowered) || (email && lowered === email.toLowerCase())) {
    return { code: "password_common", message: "This password is too common. Please choose another." };
  }
  const strength = passwordStrength(password, email ? emailWords(email) : []);
  if (strength.score < MIN_SCORE) {
    const why = strength.warning ? ` ${strength.warning}` : "";
    return {
      code: "password_weak",
      message: `This password would be easy to guess.${why} A few unrelated words make a strong one.`,
    };
  }
  return null;
}

/** The address and its pieces ("ana", "example"): what a targeted guess would start from. */
function emailWords(email: string): string[] {
  return [email, ...email.split(/[@._+-]/).filter((part) => part.length >= 3)];
}

export function isCommonPassword(password: string): boolean {
  return COMMON.has(password.toLowerCase());
}
