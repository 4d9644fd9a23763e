/**
 * Where the viewer's token comes from: ?token= in the page URL (the URL the server prints at start),
 * else this tab's sessionStorage (that token, or one typed into the prompt earlier). Kept per tab, never in
 * localStorage, so it does not outlive the session.
 */
const KEY = 'framewire.token';

export function initialToken(): string {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl !== null) {
    // Kept for the tab, and taken out of the address bar (screenshots, screen sharing, the history entry).
    rememberToken(fromUrl);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
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
