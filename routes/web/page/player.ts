/**
 * The player: hls.js over Media Source Extensions, or the browser's own HLS (Safari on iOS) where
 * MSE is missing. Automatic quality with a menu to pin any rendition, errors shown, not swallowed.
 *
 * Signed URLs expire. Every request hls.js makes for this video goes through xhrSetup, which puts
 * the current grant's signing query on it; a fresh grant is fetched before the current one runs
 * out (and at once when the CDN answers 403), so playback and seeking go on past any expiry.
 *
 * Audio-only uploads play in the same element, without a quality menu; a video with several
 * audio tracks (HLS alternate audio) gets a menu of them, the default one chosen first.
 *
 * The owner can watch a video while it is still processing, once it is `playable`: the master
 * playlist then lists the renditions published so far (one may still be growing, an EVENT
 * playlist, which hls.js follows like a live stream). While the video is processing the player
 * asks the API about it every few seconds; when it lists more renditions than the player has,
 * the master is loaded again at the same position, keeping the chosen quality (or automatic).
 */
import Hls, { type ErrorData, type Level } from 'hls.js';
import { ApiError, type Api, type Video } from './api.ts';
import type { Grants, HeldGrant } from './grants.ts';
import { formatBitrate } from './format.ts';
import { refreshDelayMs, withGrantQuery } from './signed-url.ts';
import { canBeWatched } from '../../../src/shared/video-status.ts';

/** Built beside the page bundle by deploy/web-build.ts (hls.js's transmuxer off the main thread). */
declare const HLS_WORKER_PATH: string;

export interface PlayerElements {
  section: HTMLElement;
  title: HTMLElement;
  video: HTMLVideoElement;
  quality: HTMLSelectElement;
  audioTrack: HTMLSelectElement;
  /** Wraps the audio menu: shown only when there is a choice. */
  audioTrackGroup: HTMLElement;
  /** The video's warnings (a damaged part of the source...). */
  notes: HTMLElement;
  nowPlaying: HTMLElement;
  problem: HTMLElement;
  remove: HTMLButtonElement;
}

export interface PlayerOptions {
  api: Api;
  grants: Grants;
  viewerId: string;
  elements: PlayerElements;
  confirmDelete(video: Video): Promise<boolean>;
  onClosed(): void;
}

/** `720p`; a level without a picture (audio only) has no size to name it by. */
const renditionName = (level: Pick<Level, 'width' | 'height'>) => (level.height > 0 ? `${Math.min(level.width, level.height)}p` : 'audio');

/** How often a video that is still processing is checked for new renditions. */
const RENDITIONS_POLL_MS = 3000;

/** Where to pick up again after the master is reloaded with more renditions. */
interface Resume {
  position: number;
  playing: boolean;
  /** The rendition the viewer pinned; undefined for automatic. */
  quality?: string;
}

function describe(data: ErrorData): string {
  const status = data.response?.code;
  if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
    if (status === 403) return 'The video server refused the request (the viewing link is no longer valid). Close the player and open the video again.';
    if (status === 404) return 'Part of this video is missing on the server.';
    return 'The video could not be loaded: the network connection failed. Check your connection and try again.';
  }
  if (data.type === Hls.ErrorTypes.MEDIA_ERROR) return 'This browser could not decode the video.';
  return `The video stopped: ${data.details}.`;
}

export function createPlayer(options: PlayerOptions) {
  const { api, grants, elements } = options;
  const { video: media } = elements;
  let session = 0;
  let hls: Hls | null = null;
  /** `renditions`: how many the loaded master had (for Safari's player, which does not say). */
  let current: { video: Video; grant: HeldGrant; renditions?: number } | null = null;
  let refreshTimer: number | undefined;
  let renditionsTimer: number | undefined;
  let refreshing: Promise<void> | null = null;

  function setProblem(text: string): void {
    elements.problem.textContent = text;
  }

  function teardown(): void {
    session++;
    window.clearTimeout(refreshTimer);
    window.clearTimeout(renditionsTimer);
    refreshing = null;
    hls?.destroy();
    hls = null;
    current = null;
    media.removeAttribute('src');
    media.load();
    elements.quality.replaceChildren(new Option('Auto', '-1'));
    elements.quality.disabled = true;
    elements.audioTrack.replaceChildren();
    elements.audioTrackGroup.hidden = true;
    elements.notes.textContent = '';
    elements.notes.hidden = true;
    elements.nowPlaying.textContent = '';
    setProblem('');
  }

  /** Fetches a fresh grant and schedules the next one; with native HLS, reloads at the same spot. */
  function refreshGrant(): Promise<void> {
    const mine = session;
    const videoId = current?.video.videoId;
    if (!videoId) return Promise.resolve();
    refreshing ??= grants
      .get(videoId, { fresh: true })
      .then((grant) => {
        if (mine !== session || !current) return;
        current.grant = grant;
        if (!hls) {
          // Safari's own player cannot rewrite its requests: give it the new URL where it was.
          const { currentTime, paused } = media;
          media.src = grant.manifestUrl;
          media.currentTime = currentTime;
          if (!paused) void media.play().catch(() => undefined);
        }
        scheduleRefresh();
      })
      .catch((error: unknown) => {
        if (mine !== session) return;
        setProblem(`Could not renew the viewing link: ${(error as Error).message}`);
        // Try again in a while: the current link may still have some life in it.
        refreshTimer = window.setTimeout(() => void refreshGrant(), 30_000);
      })
      .finally(() => {
        if (mine === session) refreshing = null;
      });
    return refreshing;
  }

  function scheduleRefresh(): void {
    window.clearTimeout(refreshTimer);
    if (!current) return;
    refreshTimer = window.setTimeout(() => void refreshGrant(), refreshDelayMs(current.grant, current.grant.receivedAt, Date.now()));
  }

  function showLevel(level: number): void {
    if (!hls) return;
    const playing = hls.levels[level];
    if (!playing) return;
    const name = renditionName(playing);
    const auto = hls.autoLevelEnabled;
    elements.nowPlaying.textContent = current?.video.audioOnly ? 'Playing audio only' : `Playing ${name}${auto ? ' (automatic)' : ''}`;
    elements.nowPlaying.dataset.rendition = name;
    const autoOption = elements.quality.options[0];
    if (autoOption) autoOption.textContent = auto ? `Auto (${name})` : 'Auto';
  }

  function startHls(grant: HeldGrant, mine: number, resume?: Resume): void {
    let mediaRecovered = false;
    let networkRetried = false;
    const player = new Hls({
      workerPath: HLS_WORKER_PATH,
      // -1: the playlist's EXT-X-START (the beginning) or hls.js's own choice.
      startPosition: resume?.position ?? -1,
      // Every request of this video carries the signing query of the grant in force right now.
      xhrSetup: (xhr, url) => {
        xhr.open('GET', current ? withGrantQuery(url, current.grant.manifestUrl) : url, true);
      },
    });
    hls = player;
    /** The audio menu: the tracks of the playing level's group, when there is a choice. */
    const renderAudioTracks = (tracks: ReadonlyArray<{ name: string; lang?: string }>) => {
      elements.audioTrack.replaceChildren(
        ...tracks.map(
          (track, index) =>
            new Option(track.lang ? `${track.name} (${track.lang})` : track.name, String(index), index === player.audioTrack, index === player.audioTrack),
        ),
      );
      elements.audioTrackGroup.hidden = tracks.length < 2;
    };
    player.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
      if (mine !== session) return;
      renderAudioTracks(data.audioTracks);
      const levels = player.levels.map((level, index) => ({ level, index })).sort((a, b) => b.level.height * b.level.width - a.level.height * a.level.width);
      const pinned = resume?.quality === undefined ? -1 : player.levels.findIndex((level) => renditionName(level) === resume.quality);
      elements.quality.replaceChildren(
        new Option('Auto', '-1', pinned === -1, pinned === -1),
        ...levels.map(
          ({ level, index }) =>
            new Option(
              level.height > 0
                ? `${renditionName(level)} (${level.width}×${level.height}, ${formatBitrate(level.bitrate)})`
                : `Audio (${formatBitrate(level.bitrate)})`,
              String(index),
              index === pinned,
              index === pinned,
            ),
        ),
      );
      // Audio alone has one quality: nothing to choose.
      elements.quality.disabled = current?.video.audioOnly === true;
      if (pinned >= 0) player.currentLevel = pinned;
      if (resume?.playing) void media.play().catch(() => undefined);
    });
    player.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
      if (mine === session) showLevel(data.level);
    });
    player.on(Hls.Events.AUDIO_TRACKS_UPDATED, (_event, data) => {
      if (mine === session) renderAudioTracks(data.audioTracks);
    });
    player.on(Hls.Events.AUDIO_TRACK_SWITCHED, (_event, data) => {
      if (mine === session) elements.audioTrack.value = String(data.id);
    });
    player.on(Hls.Events.ERROR, (_event, data) => {
      if (mine !== session) return;
      // A refused signature: renew now, so hls.js's own retries go out with the new one.
      if (data.response?.code === 403) void refreshGrant();
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !mediaRecovered) {
        mediaRecovered = true;
        player.recoverMediaError();
        return;
      }
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && !networkRetried) {
        networkRetried = true;
        void refreshGrant().then(() => {
          if (mine === session) player.startLoad(media.currentTime);
        });
        return;
      }
      setProblem(describe(data));
      console.error('hls.js fatal error', data.type, data.details, data.response?.code);
      player.destroy();
      if (hls === player) hls = null;
    });
    player.loadSource(grant.manifestUrl);
    player.attachMedia(media);
  }

  /**
   * While the video is processing: asks the API what it has, and loads the master again when it
   * lists more renditions than the player knows, at the same position and quality.
   */
  function followRenditions(mine: number): void {
    window.clearTimeout(renditionsTimer);
    if (!current || current.video.status !== 'processing') return;
    renditionsTimer = window.setTimeout(() => void checkRenditions(mine), RENDITIONS_POLL_MS);
  }

  /** Never rejects: a failed check is retried by the next one. */
  async function checkRenditions(mine: number): Promise<void> {
    if (mine !== session || !current) return;
    try {
      const video = await api.getVideo(current.video.videoId);
      if (mine !== session || !current) return;
      current.video = video;
      const known = hls ? hls.levels.length : (current.renditions ?? 0);
      if ((video.renditions?.length ?? 0) > known) reloadMaster(mine);
    } catch {
      // The next check tries again; playback goes on with what it has.
    }
    followRenditions(mine);
  }

  function reloadMaster(mine: number): void {
    if (!current) return;
    const renditions = current.video.renditions?.length ?? 0;
    const resume: Resume = { position: media.currentTime, playing: !media.paused };
    if (!hls) {
      // Safari's own player: the same URL again, where it was.
      current.renditions = renditions;
      media.src = current.grant.manifestUrl;
      media.currentTime = resume.position;
      if (resume.playing) void media.play().catch(() => undefined);
      return;
    }
    if (!hls.autoLevelEnabled && hls.levels[hls.currentLevel]) resume.quality = renditionName(hls.levels[hls.currentLevel]!);
    hls.destroy();
    hls = null;
    startHls(current.grant, mine, resume);
  }

  async function open(videoId: string): Promise<void> {
    teardown();
    const mine = session;
    elements.section.hidden = false;
    elements.title.textContent = 'Loading…';
    elements.remove.hidden = true;
    elements.section.scrollIntoView({ block: 'start' });
    elements.title.focus();
    try {
      const video = await api.getVideo(videoId);
      if (mine !== session) return;
      elements.title.textContent = video.title;
      media.setAttribute('aria-label', video.title);
      elements.notes.textContent = (video.warnings ?? []).map((warning) => `Note: ${warning.message}`).join(' ');
      elements.notes.hidden = !video.warnings?.length;
      elements.remove.hidden = video.ownerId !== options.viewerId;
      if (!canBeWatched(video)) {
        setProblem(
          video.status === 'failed'
            ? `This video could not be converted: ${video.error?.message ?? 'no reason given'}`
            : 'This video is not ready yet; it can be watched once its first rendition is converted.',
        );
        current = { video, grant: { manifestUrl: '', expiresAt: new Date(0).toISOString(), receivedAt: 0 } };
        return;
      }
      const grant = await grants.get(videoId);
      if (mine !== session) return;
      current = { video, grant, renditions: video.renditions?.length ?? 0 };
      if (Hls.isSupported()) startHls(grant, mine);
      else if (media.canPlayType('application/vnd.apple.mpegurl')) {
        media.src = grant.manifestUrl;
        elements.nowPlaying.textContent = 'Quality is chosen automatically by this browser.';
      } else {
        setProblem('This browser cannot play HLS video.');
        return;
      }
      scheduleRefresh();
      followRenditions(mine);
      // Autoplay may be refused (no recent click); the controls are there to start it.
      await media.play().catch(() => undefined);
    } catch (error) {
      if (mine !== session) return;
      elements.title.textContent = 'Video unavailable';
      if (error instanceof ApiError && error.status === 404) setProblem('This video does not exist, or it is not visible to you.');
      else setProblem(`The video could not be opened: ${(error as Error).message}`);
    }
  }

  elements.quality.addEventListener('change', () => {
    if (!hls) return;
    const level = Number(elements.quality.value);
    const playing = hls.currentLevel;
    // currentLevel switches now (flushing what is buffered), so the choice shows at once.
    hls.currentLevel = level;
    if (level === playing || (level === -1 && playing >= 0)) {
      // Already on it: no LEVEL_SWITCHED will come, so say so now.
      showLevel(playing);
    } else {
      delete elements.nowPlaying.dataset.rendition;
      elements.nowPlaying.textContent = `Switching to ${elements.quality.selectedOptions[0]?.text ?? 'it'}…`;
    }
  });

  elements.audioTrack.addEventListener('change', () => {
    if (hls) hls.audioTrack = Number(elements.audioTrack.value);
  });

  media.addEventListener('error', () => {
    // With hls.js the ERROR event above speaks; this is Safari's own player failing.
    if (!hls && current?.grant.manifestUrl && media.error) setProblem(`The video could not be played (${media.error.message || `error ${media.error.code}`}).`);
  });

  elements.remove.addEventListener('click', () => void removeCurrent());

  /** Never rejects: a failure is shown on the page. */
  async function removeCurrent(): Promise<void> {
    const video = current?.video;
    if (!video) return;
    try {
      if (await options.confirmDelete(video)) {
        close();
        options.onClosed();
      }
    } catch (error) {
      setProblem(`Could not delete the video: ${(error as Error).message}`);
    }
  }

  function close(): void {
    teardown();
    elements.section.hidden = true;
  }

  return {
    open,
    close,
    get videoId(): string | undefined {
      return current?.video.videoId;
    },
  };
}

export type Player = ReturnType<typeof createPlayer>;
