/**
 * The library: the viewer's videos in every state and everybody's ready videos, as cards updated
 * in place (no reload, focus kept). Videos on their way (uploading, converting) are polled until
 * they are ready or failed; posters are fetched when their card scrolls into view.
 */
import { ApiError, type Api, type Video } from './api.ts';
import type { Grants } from './grants.ts';
import { formatDuration } from './format.ts';
import { POSTER_FILE, siblingUrl } from './signed-url.ts';
import { canBeWatched } from '../../../src/shared/video-status.ts';

const POLL_MS = 1500;
const REFRESH_MS = 30_000;

export interface LibraryElements {
  list: HTMLUListElement;
  more: HTMLButtonElement;
  refresh: HTMLButtonElement;
  status: HTMLElement;
  problem: HTMLElement;
}

export interface LibraryOptions {
  api: Api;
  grants: Grants;
  viewerId: string;
  elements: LibraryElements;
  /** Asks the person, then deletes; resolves true when the video is gone. */
  confirmDelete(video: Video): Promise<boolean>;
}

const STATUS_TEXT: Record<Video['status'], (video: Video) => string> = {
  awaiting_upload: () => 'Waiting for upload',
  processing: (video) => `Converting ${video.progressPercent ?? 0}%`,
  ready: () => 'Ready',
  failed: () => 'Failed',
};

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function createLibrary(options: LibraryOptions) {
  const { api, grants, viewerId, elements } = options;
  const videos = new Map<string, Video>();
  const cards = new Map<string, HTMLLIElement>();
  /** Uploads started from this page: polled while awaiting upload (others may never arrive). */
  const watchedUploads = new Set<string>();
  let order: string[] = [];
  let nextCursor: string | undefined;
  let pagesLoaded = 0;
  let pollTimer: number | undefined;
  let refreshTimer: number | undefined;
  let stopped = false;

  const posterObserver = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        posterObserver.unobserve(entry.target);
        const videoId = (entry.target as HTMLElement).closest('li')?.dataset.videoId;
        if (videoId) void loadPoster(videoId);
      }
    },
    { rootMargin: '200px' },
  );

  async function loadPoster(videoId: string): Promise<void> {
    const card = cards.get(videoId);
    const video = videos.get(videoId);
    if (!card || video?.status !== 'ready' || video.audioOnly) return;
    try {
      const grant = await grants.get(videoId);
      const img = card.querySelector('img');
      if (img && !img.src) img.src = siblingUrl(grant.manifestUrl, POSTER_FILE);
    } catch {
      // No grant, no poster: the placeholder stays. Watching reports the reason if there is one.
    }
  }

  function renderPoster(card: HTMLLIElement, video: Video): void {
    const poster = card.querySelector<HTMLElement>('.poster')!;
    const state = video.status === 'ready' ? `ready:${video.audioOnly === true}` : `${video.status}:${video.progressPercent ?? ''}`;
    if (poster.dataset.state === state) return;
    poster.dataset.state = state;
    poster.replaceChildren();
    if (video.status === 'ready' && video.audioOnly) {
      // Sound has no first frame to show.
      poster.append(element('span', 'placeholder', '♪ Audio only'));
    } else if (video.status === 'ready') {
      const img = element('img');
      img.alt = '';
      img.decoding = 'async';
      const placeholder = element('span', 'placeholder', 'No preview');
      placeholder.hidden = true;
      img.addEventListener('error', () => {
        img.hidden = true;
        placeholder.hidden = false;
      });
      poster.append(img, placeholder);
      posterObserver.observe(poster);
    } else {
      const text = { awaiting_upload: 'Waiting for the upload', processing: 'Converting…', failed: 'Could not be converted' }[video.status];
      poster.append(element('span', 'placeholder', text));
    }
    if (video.durationSeconds !== undefined) {
      const duration = element('span', 'duration', formatDuration(video.durationSeconds));
      duration.setAttribute('aria-label', `Duration ${formatDuration(video.durationSeconds)}`);
      poster.append(duration);
    }
  }

  function renderCard(video: Video): HTMLLIElement {
    let card = cards.get(video.videoId);
    if (!card) {
      card = element('li', 'card');
      card.dataset.videoId = video.videoId;
      const body = element('div', 'card-body');
      body.append(element('h3'), element('p', 'meta'), element('div', 'progress-slot'), element('p', 'failure'), element('p', 'note'));
      card.append(element('div', 'poster'), body, element('div', 'actions'));
      cards.set(video.videoId, card);
    }
    const own = video.ownerId === viewerId;
    card.dataset.status = video.status;
    renderPoster(card, video);
    card.querySelector('h3')!.textContent = video.title;

    const meta = card.querySelector('.meta')!;
    const badge = element('span', `badge ${video.status}`, STATUS_TEXT[video.status](video));
    badge.dataset.role = 'status';
    const when = element('time', undefined, new Date(video.createdAt).toLocaleDateString());
    when.dateTime = video.createdAt;
    meta.replaceChildren(badge, ...(video.audioOnly ? [element('span', 'kind', 'Audio only')] : []), ...(own ? [element('span', 'owner', 'Yours')] : []), when);

    const slot = card.querySelector('.progress-slot')!;
    if (video.status === 'processing') {
      let bar = slot.querySelector('progress');
      if (!bar) {
        bar = element('progress');
        bar.max = 100;
        slot.replaceChildren(bar);
      }
      bar.value = video.progressPercent ?? 0;
      bar.setAttribute('aria-label', `Converting ${video.title}: ${video.progressPercent ?? 0}%`);
    } else {
      slot.replaceChildren();
    }

    const failure = card.querySelector<HTMLElement>('.failure')!;
    failure.textContent = video.status === 'failed' ? `Why: ${video.error?.message ?? 'the video could not be converted.'}` : '';
    failure.hidden = video.status !== 'failed';
    const note = card.querySelector<HTMLElement>('.note')!;
    note.textContent = (video.warnings ?? []).map((warning) => `Note: ${warning.message}`).join(' ');
    note.hidden = !video.warnings?.length;

    const actions = card.querySelector('.actions')!;
    const watchable = canBeWatched(video) && (video.status === 'ready' || own);
    const wanted = `${video.status}:${own}:${watchable}`;
    if (actions.getAttribute('data-state') !== wanted) {
      actions.setAttribute('data-state', wanted);
      const buttons: HTMLElement[] = [];
      // A video still converting can be watched by its owner once its first rendition is out.
      if (watchable) {
        const watch = element('a', 'button primary', 'Watch');
        watch.href = `#watch=${encodeURIComponent(video.videoId)}`;
        watch.append(element('span', 'visually-hidden', ` ${video.title}`));
        buttons.push(watch);
      }
      if (own) {
        const remove = element('button', 'danger', 'Delete');
        remove.type = 'button';
        remove.append(element('span', 'visually-hidden', ` ${video.title}`));
        remove.addEventListener('click', () => void removeVideo(video.videoId));
        buttons.push(remove);
      }
      actions.replaceChildren(...buttons);
    }
    return card;
  }

  function placeCards(): void {
    const current = Array.from(elements.list.children).map((child) => (child as HTMLElement).dataset.videoId);
    const same = current.length === order.length && current.every((id, i) => id === order[i]);
    // Re-append only when the order changed: moving nodes would drop the keyboard focus.
    if (!same) elements.list.replaceChildren(...order.flatMap((id) => (cards.has(id) ? [cards.get(id)!] : [])));
    elements.status.textContent = order.length === 0 ? 'No videos yet. Upload one above.' : '';
  }

  function upsert(video: Video): void {
    const before = videos.get(video.videoId);
    videos.set(video.videoId, video);
    renderCard(video);
    if (before && before.status !== 'ready' && video.status === 'ready') grants.forget(video.videoId);
  }

  function remove(videoId: string): void {
    videos.delete(videoId);
    cards.get(videoId)?.remove();
    cards.delete(videoId);
    watchedUploads.delete(videoId);
    grants.forget(videoId);
    order = order.filter((id) => id !== videoId);
    placeCards();
  }

  async function removeVideo(videoId: string): Promise<void> {
    const video = videos.get(videoId);
    if (!video) return;
    elements.problem.textContent = '';
    try {
      if (await options.confirmDelete(video)) remove(videoId);
    } catch (error) {
      elements.problem.textContent = `Could not delete “${video.title}”: ${(error as Error).message}`;
    }
  }

  const inFlight = (video: Video) =>
    video.ownerId === viewerId && (video.status === 'processing' || (video.status === 'awaiting_upload' && watchedUploads.has(video.videoId)));

  function schedulePoll(): void {
    window.clearTimeout(pollTimer);
    if (stopped || ![...videos.values()].some(inFlight)) return;
    pollTimer = window.setTimeout(() => void poll(), POLL_MS);
  }

  async function poll(): Promise<void> {
    const due = [...videos.values()].filter(inFlight);
    await Promise.all(
      due.map(async (video) => {
        try {
          upsert(await api.getVideo(video.videoId));
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) remove(video.videoId);
        }
      }),
    );
    schedulePoll();
  }

  async function load(more = false): Promise<void> {
    elements.problem.textContent = '';
    elements.refresh.disabled = true;
    elements.more.disabled = true;
    try {
      const page = await api.listVideos(more ? nextCursor : undefined);
      if (!more) {
        // A full refresh: what left the first page (deleted elsewhere) leaves the screen.
        const kept = new Set(page.items.map((video) => video.videoId));
        for (const id of order) if (!kept.has(id)) remove(id);
        order = [];
        pagesLoaded = 0;
      }
      for (const video of page.items) {
        upsert(video);
        if (!order.includes(video.videoId)) order.push(video.videoId);
      }
      pagesLoaded++;
      nextCursor = page.nextCursor;
      elements.more.hidden = !nextCursor;
      placeCards();
      schedulePoll();
    } catch (error) {
      elements.problem.textContent = `The library could not be loaded: ${(error as Error).message}`;
    } finally {
      elements.refresh.disabled = false;
      elements.more.disabled = false;
    }
  }

  elements.refresh.addEventListener('click', () => void load());
  elements.more.addEventListener('click', () => void load(true));

  return {
    load,
    start(): void {
      stopped = false;
      void load();
      // Other people's new videos show up without a reload (not once more pages are open: the
      // refresh would fold them back to the first page).
      refreshTimer = window.setInterval(() => {
        if (document.visibilityState === 'visible' && pagesLoaded <= 1) void load();
      }, REFRESH_MS);
    },
    stop(): void {
      stopped = true;
      window.clearTimeout(pollTimer);
      window.clearInterval(refreshTimer);
    },
    /** A video this page just created: shown at once and followed through its states. */
    track(video: Video): void {
      watchedUploads.add(video.videoId);
      upsert(video);
      if (!order.includes(video.videoId)) order.unshift(video.videoId);
      placeCards();
      schedulePoll();
    },
    forgetUpload(videoId: string): void {
      watchedUploads.delete(videoId);
    },
    remove,
    get(videoId: string): Video | undefined {
      return videos.get(videoId);
    },
    markPlaying(videoId: string | undefined): void {
      for (const [id, card] of cards) card.classList.toggle('playing', id === videoId);
    },
  };
}

export type Library = ReturnType<typeof createLibrary>;
