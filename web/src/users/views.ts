import { type Html, html } from "../views/html.js";
import type { User } from "./user.js";
import { FIELD_LABELS, type FieldName, NAME_MAX_LENGTH } from "./validation.js";

export interface FormState {
  readonly values: Readonly<Record<FieldName, string>>;
  readonly errors?: Partial<Record<FieldName, string>>;
}

const FIELDS: readonly FieldName[] = ["firstName", "lastName"];

function errorSummary(errors: Partial<Record<FieldName, string>> | undefined): Html {
  const items = FIELDS.filter((f) => errors?.[f]);
  if (items.length === 0) return html``;
  return html`<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1">
  <h2 id="error-summary-title">There is a problem</h2>
  <ul>${items.map((f) => html`<li><a href="#${f}">${errors?.[f]}</a></li>`)}</ul>
</div>`;
}

function field(name: FieldName, state: FormState): Html {
  const error = state.errors?.[name];
  const describedBy = error ? `${name}-error` : `${name}-hint`;
  return html`<div class="field${error ? " field-error" : ""}">
  <label for="${name}">${FIELD_LABELS[name]}</label>
  <span class="hint" id="${name}-hint">1 to ${NAME_MAX_LENGTH} characters, any script.</span>
  ${error ? html`<span class="error-message" id="${name}-error">${error}</span>` : ""}
  <input id="${name}" name="${name}" type="text" value="${state.values[name]}" maxlength="${NAME_MAX_LENGTH * 2}"
    autocomplete="${name === "firstName" ? "given-name" : "family-name"}" required
    aria-describedby="${describedBy}"${error ? html` aria-invalid="true"` : ""}>
</div>`;
}

export interface UserFormOptions {
  readonly action: string;
  readonly csrf: string;
  readonly state: FormState;
  readonly submitLabel: string;
  /** Present when editing: the version the user is changing. */
  readonly version?: number;
}

export function userForm(o: UserFormOptions): Html {
  return html`${errorSummary(o.state.errors)}
<form method="post" action="${o.action}" novalidate>
  <input type="hidden" name="_csrf" value="${o.csrf}">
  ${o.version === undefined ? "" : html`<input type="hidden" name="version" value="${o.version}">`}
  ${FIELDS.map((f) => field(f, o.state))}
  <div class="actions">
    <button type="submit">${o.submitLabel}</button>
    <a href="/users">Cancel</a>
  </div>
</form>`;
}

// A Map, not an object: `?done=constructor` must not find Object.prototype's members.
const NOTICES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    created: "User created.",
    updated: "User updated.",
    deleted: "User deleted.",
  }),
);

export function usersList(options: {
  readonly users: readonly User[];
  readonly next?: string | undefined;
  readonly isFirstPage: boolean;
  readonly notice?: string | undefined;
}): Html {
  const notice = options.notice ? NOTICES.get(options.notice) : undefined;
  const rows = options.users.map(
    (u) => html`<tr>
    <td>${u.firstName}</td>
    <td>${u.lastName}</td>
    <td class="row-actions">
      <a href="/users/${u.id}/edit">Edit<span class="visually-hidden"> ${u.firstName} ${u.lastName}</span></a>
      <a href="/users/${u.id}/delete">Delete<span class="visually-hidden"> ${u.firstName} ${u.lastName}</span></a>
    </td>
  </tr>`,
  );
  return html`<h1>Users</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ""}
<p><a class="button" href="/users/new">Create a user</a></p>
${
  options.users.length === 0
    ? html`<p class="empty">${options.isFirstPage ? "No users yet." : "No more users."}</p>`
    : html`<table>
  <caption class="visually-hidden">Users</caption>
  <thead><tr><th scope="col">First name</th><th scope="col">Last name</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${rows}</tbody>
</table>`
}
<nav class="pager" aria-label="Pages">
  ${options.isFirstPage ? "" : html`<a href="/users">First page</a>`}
  ${options.next ? html`<a href="/users?cursor=${options.next}" rel="next">Next page</a>` : ""}
</nav>`;
}

export function deleteConfirm(user: User, csrf: string, conflict = false): Html {
  return html`<h1>Delete a user</h1>
${conflict ? html`<p class="warning" role="alert">This user was changed by someone else since you opened the page. These are the current values; confirm again to delete them.</p>` : ""}
<p>Delete <strong>${user.firstName} ${user.lastName}</strong>? This cannot be undone.</p>
<form method="post" action="/users/${user.id}/delete">
  <input type="hidden" name="_csrf" value="${csrf}">
  <input type="hidden" name="version" value="${user.version}">
  <div class="actions">
    <button type="submit" class="danger">Delete</button>
    <a href="/users">Cancel</a>
  </div>
</form>`;
}

/** 409 on edit: what is stored now, what they tried, and a form to retry from the current version. */
export function editConflict(options: {
  readonly current: User;
  readonly attempted: Readonly<Record<FieldName, string>>;
  readonly csrf: string;
}): Html {
  const { current, attempted } = options;
  return html`<h1>Edit a user</h1>
<div class="warning" role="alert">
  <h2>Someone else changed this user while you were editing</h2>
  <p>Your change was not saved, and nothing was overwritten. The user now reads
  <strong>${current.firstName} ${current.lastName}</strong>; you tried to save
  <strong>${attempted.firstName} ${attempted.lastName}</strong>.
  The form below holds your values on top of the current version: save again to apply them.</p>
</div>
${userForm({
  action: `/users/${current.id}`,
  csrf: options.csrf,
  state: { values: attempted },
  submitLabel: "Save",
  version: current.version,
})}`;
}
