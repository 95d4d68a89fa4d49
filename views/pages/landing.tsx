// The front page for a visitor who is not signed in: what clawfleet is, and the way in. On a fresh
// install it says that the first account becomes the administrator.
import { Layout } from "../layout.tsx";

export function LandingPage(props: { firstAccount: boolean; signup: "open" | "invite" | "closed" }) {
  const canSignUp = props.firstAccount || props.signup === "open";
  return (
    <Layout title="Your own AI assistant" user={null}>
      <section class="hero" aria-labelledby="hero-heading">
        <h1 id="hero-heading">Your own AI assistant, in a container only you can reach</h1>
        <p class="lead">
          clawfleet gives each person a private, isolated container running an AI assistant. Bring your own
          provider key, start it in a few seconds, and talk to it from the browser or over the API.
        </p>
        {props.firstAccount ? (
          <div class="alert alert-info" role="status" id="first-account-note">
            This is a new installation. The first account created here becomes its administrator.
          </div>
        ) : (
          ""
        )}
        <div class="actions">
          {canSignUp ? (
            <a class="button" href="/signup" id="landing-signup">
              {props.firstAccount ? "Create the administrator account" : "Create an account"}
            </a>
          ) : (
            ""
          )}
          <a class={canSignUp ? "button secondary" : "button"} href="/login" id="landing-login">
            Sign in
          </a>
        </div>
        {!canSignUp ? (
          <p class="small muted" id="landing-invite-only">
            {props.signup === "invite"
              ? "New accounts need an invite link from an administrator."
              : "New accounts are not being accepted here."}
          </p>
        ) : (
          ""
        )}
      </section>
      <section class="features" aria-label="What you get">
        <div class="card">
          <h2>Private by design</h2>
          <p>
            Your conversations and the assistant's memory live only inside your container, on its own
            encrypted disk. Killing the container destroys its key: the data is gone.
          </p>
        </div>
        <div class="card">
          <h2>Your keys stay secret</h2>
          <p>
            Provider keys are stored encrypted and never enter the container: the node adds them to requests
            on the way out, and a change reaches a running assistant within seconds.
          </p>
        </div>
        <div class="card">
          <h2>Freeze when idle</h2>
          <p>
            An idle container is frozen and wakes when you come back, a message arrives or a schedule fires.
            Chat and a terminal are in the browser.
          </p>
        </div>
      </section>
    </Layout>
  );
}
