/**
 * Where the viewer's token comes from: ?token= in the page URL (the page itself needed it to load),
 * else this tab's sessionStorage (a token typed into the prompt earlier). Kept per tab, never in
 * localStorage, so it does not outlive the session.
 */
const KEY = 'framewire.token';

export function initialToken(): string {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl !== null) return fromUrl;
  try {
    return sessionStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

export function rememberToken(token: string): void {
  try {
    sessionStorage.setItem(KEY, token);
  } catch {
    // Storage disabled (private mode): the token still works for this page's life.
  }
}
