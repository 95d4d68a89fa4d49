// OWASP ASVS password rules: length only (12 to 256, counted in code points so nothing is truncated),
// no composition rules, and not one of the 10,000 most common passwords (MIT-licensed list from
// zxcvbn-ts, ordered by frequency).
import commonPasswordsText from "./common_passwords.txt" with { type: "text" };

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

const COMMON = new Set(commonPasswordsText.split("\n").filter(Boolean));

export type PasswordProblem = {
  code: "password_too_short" | "password_too_long" | "password_common";
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
  return null;
}

export function isCommonPassword(password: string): boolean {
  return COMMON.has(password.toLowerCase());
}
