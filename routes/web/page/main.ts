/**
 * The web page: sign in, upload, browse the library, watch. No framework: the HTML shell in
 * index.html, one module per part, all API calls through the generated client (api.ts).
 *
 * Addresses: `#watch=<videoId>` opens the player (links, reloads and the back button work).
 */
import './app.css';
import { createAuth, SignInError, type AuthConfig } from './auth.ts';
import { createApi, type Video } from './api.ts';
import { createGrants } from './grants.ts';
import { createLibrary } from './library.ts';
import type { Player } from './player.ts';
import { createUploadForm } from './upload-form.ts';

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`The page has no #${id}`);
  return found as T;
};

const watchedVideoId = () => /^#watch=([^&]+)$/.exec(location.hash)?.[1];

function showSignedOut(message: string, options: { canSignIn: boolean; onSignIn?: () => void }): void {
  byId('loading').hidden = true;
  byId('signed-in').hidden = true;
  byId('account').hidden = true;
  byId('signed-out').hidden = false;
  byId('sign-in-problem').textContent = message;
  const button = byId<HTMLButtonElement>('sign-in');
  button.disabled = !options.canSignIn;
  button.onclick = options.onSignIn ?? null;
}

async function main(): Promise<void> {
  const config = (await fetch('config.json').then((response) => response.json())) as { auth: AuthConfig | null };
  if (!config.auth) {
    showSignedOut('Sign-in is not configured on this server (AUTH_AUTHORIZE_URL, AUTH_TOKEN_URL, AUTH_CLIENT_ID).', { canSignIn: false });
    return;
  }
  const auth = createAuth(config.auth);
  let problem = '';
  try {
    await auth.completeSignIn();
  } catch (error) {
    problem = error instanceof SignInError ? error.message : `Signing in failed: ${(error as Error).message}`;
  }
  const session = auth.session;
  const signIn = () => void auth.signIn();
  if (!session) {
    showSignedOut(problem, { canSignIn: true, onSignIn: signIn });
    return;
  }

  let signedOut = false;
  const api = createApi(auth, () => {
    if (signedOut) return;
    signedOut = true;
    library.stop();
    player?.close();
    uploads.cancel();
    showSignedOut('Your session has ended. Sign in again to continue.', { canSignIn: true, onSignIn: signIn });
  });
  const grants = createGrants(api);

  async function confirmDelete(video: Video): Promise<boolean> {
    if (!window.confirm(`Delete “${video.title}”? It is removed for everyone, with all its files.`)) return false;
    await api.deleteVideo(video.videoId);
    library.remove(video.videoId);
    return true;
  }

  const library = createLibrary({
    api,
    grants,
    viewerId: session.userId,
    confirmDelete,
    elements: {
      list: byId<HTMLUListElement>('videos'),
      more: byId<HTMLButtonElement>('more'),
      refresh: byId<HTMLButtonElement>('refresh'),
      status: byId('library-status'),
      problem: byId('library-problem'),
    },
  });

  // The player (hls.js, most of the page's weight) is its own chunk: the sign-in prompt and the
  // library never wait for it. It is fetched in the background once the library is up.
  let player: Player | null = null;
  let playerLoading: Promise<Player> | null = null;
  const loadPlayer = () =>
    (playerLoading ??= import('./player.ts').then(
      ({ createPlayer }) =>
        (player = createPlayer({
          api,
          grants,
          viewerId: session.userId,
          confirmDelete,
          onClosed: () => {
            openVideoId = undefined;
            history.replaceState(null, '', location.pathname + location.search);
          },
          elements: {
            section: byId('player'),
            title: byId('player-title'),
            video: byId<HTMLVideoElement>('video'),
            quality: byId<HTMLSelectElement>('quality'),
            audioTrack: byId<HTMLSelectElement>('audio-track'),
            audioTrackGroup: byId('audio-track-group'),
            notes: byId('player-notes'),
            nowPlaying: byId('now-playing'),
            problem: byId('player-problem'),
            remove: byId<HTMLButtonElement>('player-delete'),
          },
        })),
    ));

  const uploads = createUploadForm({
    api,
    viewerId: session.userId,
    elements: {
      form: byId<HTMLFormElement>('upload-form'),
      title: byId<HTMLInputElement>('upload-title'),
      file: byId<HTMLInputElement>('upload-file'),
      dropZone: byId('drop-zone'),
      progress: byId('upload-progress'),
      fileName: byId('upload-file-name'),
      bar: byId<HTMLProgressElement>('upload-bar'),
      numbers: byId('upload-numbers'),
      cancel: byId<HTMLButtonElement>('upload-cancel'),
      status: byId('upload-status'),
      problem: byId('upload-problem'),
      resume: byId('upload-resume'),
      resumeText: byId('upload-resume-text'),
      resumeDiscard: byId<HTMLButtonElement>('upload-resume-discard'),
    },
    onCreated: (video) => library.track(video),
    onUploaded: () => undefined,
    onAbandoned: (videoId) => library.remove(videoId),
  });

  let openVideoId: string | undefined;
  function route(): void {
    const hashId = watchedVideoId();
    const videoId = hashId && decodeURIComponent(hashId);
    if (videoId && videoId !== openVideoId) {
      openVideoId = videoId;
      loadPlayer().then(
        (loaded) => {
          if (openVideoId === videoId) void loaded.open(videoId);
        },
        () => {
          byId('library-problem').textContent = 'The player could not be loaded. Check your connection and reload the page.';
        },
      );
    }
    if (!videoId && openVideoId) {
      const closing = openVideoId;
      openVideoId = undefined;
      player?.close();
      // Back where the visitor came from: the video's card.
      document.querySelector<HTMLElement>(`#videos li[data-video-id="${CSS.escape(closing)}"] a`)?.focus();
    }
    library.markPlaying(videoId);
  }
  window.addEventListener('hashchange', route);
  byId('player-close').addEventListener('click', (event) => {
    event.preventDefault();
    history.pushState(null, '', location.pathname + location.search);
    route();
  });

  byId('user-name').textContent = session.userName;
  byId('sign-out').addEventListener('click', () => {
    signedOut = true;
    library.stop();
    player?.close();
    uploads.cancel();
    grants.clear();
    auth.signOut();
    if (!config.auth?.logoutUrl) showSignedOut('You are signed out.', { canSignIn: true, onSignIn: signIn });
  });
  byId('loading').hidden = true;
  byId('signed-out').hidden = true;
  byId('account').hidden = false;
  byId('signed-in').hidden = false;
  library.start();
  route();
  window.setTimeout(() => void loadPlayer().catch(() => undefined), 1000);
}

main().catch((error: unknown) => {
  byId('loading').textContent = `The page could not start: ${(error as Error).message}`;
  console.error(error);
});
