/** A form's anti-forgery token and the session cookie it is bound to, as a browser holds them. */
export interface FormSession {
  readonly token: string;
  /** "name=value", ready for a Cookie header. */
  readonly cookie: string;
}

/** GETs a page with a form and takes its `_csrf` field and the session cookie. */
export async function fetchFormSession(url: string): Promise<FormSession> {
  const res = await fetch(url);
  const body = await res.text();
  const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
  const cookie = res.headers.getSetCookie()[0]?.split(";")[0];
  if (res.status !== 200 || !token || !cookie) {
    throw new Error(`no form session from ${url} (status ${res.status})`);
  }
  return { token, cookie };
}

export function formBody(fields: Readonly<Record<string, string>>): string {
  return new URLSearchParams(fields).toString();
}
