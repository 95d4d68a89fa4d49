// The words of every mail the platform sends. Plain text: no tracking, nothing to render wrongly.

export function passwordResetMail(link: string) {
  return {
    subject: "Reset your clawfleet password",
    text: `Someone (hopefully you) asked to reset the password of your clawfleet account.

Open this link within 30 minutes to choose a new password:

${link}

The link works once. Resetting signs out every device. If you did not ask for this, ignore this mail:
your password stays as it is.
`,
  };
}

export function verifyEmailMail(link: string) {
  return {
    subject: "Confirm your email address for clawfleet",
    text: `Welcome to clawfleet. Confirm that this address is yours by opening this link within 24 hours:

${link}

If you did not sign up, ignore this mail.
`,
  };
}
