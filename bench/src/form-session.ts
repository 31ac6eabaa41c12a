/** A form's anti-forgery token and the session cookie it is bound to, as a browser holds them. */
export interface FormSession {
  readonly token: string;
  /** "name=value", ready for a Cookie header. */
  readonly cookie: string;
}

/** GETs a page with a form as the signed-in operator (`cookie`) and takes its `_csrf` field. */
export async function fetchFormSession(url: string, cookie: string): Promise<FormSession> {
  const res = await fetch(url, { headers: { cookie } });
  const body = await res.text();
  const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
  if (res.status !== 200 || !token) {
    throw new Error(`no form session from ${url} (status ${res.status})`);
  }
  return { token, cookie };
}

export function formBody(fields: Readonly<Record<string, string>>): string {
  return new URLSearchParams(fields).toString();
}
