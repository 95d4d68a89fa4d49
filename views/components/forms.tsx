// Form pieces shared by every page. Text that may come from a user is always rendered with `safe`.

export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/**
 * Where a failed htmx request's message goes (console.js puts the server's error fragment in the
 * nearest one), pre-filled when a full page is re-rendered with an error.
 */
// @kitajs/html types autofocus on form controls only; any focusable element may carry it.
const AUTOFOCUS = { autofocus: true } as Record<string, unknown>;

export function ErrorSlot(props: { message?: string | null }) {
  return (
    <div class="form-error" data-error-slot role="alert" aria-live="assertive">
      {props.message ? (
        // A page rendered again after a failed form (no JavaScript): the message takes the focus,
        // ahead of any field's autofocus, as console.js does after an htmx failure.
        <div class="alert alert-error" role="alert" tabindex="-1" {...AUTOFOCUS} safe>
          {props.message}
        </div>
      ) : (
        ""
      )}
    </div>
  );
}

export function Alert(props: { kind: "error" | "success" | "info" | "warn"; message: string }) {
  return (
    <div class={`alert alert-${props.kind}`} role={props.kind === "error" ? "alert" : "status"} safe>
      {props.message}
    </div>
  );
}

export function Field(props: {
  label: string;
  name: string;
  type: "email" | "password" | "text";
  id: string;
  autocomplete?: string;
  required?: boolean;
  minlength?: number;
  maxlength?: number;
  value?: string;
  hint?: string;
  autofocus?: boolean;
}) {
  const hintId = props.hint ? `${props.id}-hint` : undefined;
  return (
    <div class="field">
      <label for={props.id} safe>
        {props.label}
      </label>
      <input
        id={props.id}
        name={props.name}
        type={props.type}
        autocomplete={props.autocomplete}
        required={props.required}
        minlength={props.minlength}
        maxlength={props.maxlength}
        value={props.value}
        aria-describedby={hintId}
        autofocus={props.autofocus}
        spellcheck={props.type === "email" ? "false" : undefined}
        autocapitalize={props.type === "email" ? "none" : undefined}
      />
      {props.hint ? (
        <span class="hint" id={hintId} safe>
          {props.hint}
        </span>
      ) : (
        ""
      )}
    </div>
  );
}

/** Formats an ISO time for people, in UTC so the server-rendered text is stable. */
export function formatTime(iso: string | Date | null | undefined): string {
  if (!iso) return "—";
  const date = typeof iso === "string" ? new Date(iso) : iso;
  if (Number.isNaN(date.getTime())) return "—";
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** `relative`: console.js shows "3 minutes ago" (the exact time in its tooltip); without JavaScript the exact time. */
export function Time(props: { value: string | Date | null | undefined; relative?: boolean }) {
  const date = props.value ? new Date(props.value) : null;
  const iso = date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
  return (
    <time datetime={iso} data-relative={props.relative && iso ? "" : undefined} safe>
      {formatTime(props.value)}
    </time>
  );
}
