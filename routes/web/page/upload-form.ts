/**
 * The upload form: a file picked or dropped is registered with the API (which may refuse it as
 * too large, 413, or not a video, 415), then sent straight to storage with one progress bar (bytes,
 * percent, speed, time left) and a cancel button. Small files go in one PUT; a cancelled or failed
 * one's record is deleted again. Large files (the API answers `multipart`) go in parts, several at a
 * time, retried through a lost connection (multipart-upload.ts, loaded when needed); such an upload
 * is remembered in localStorage until it ends, so after a reload the page offers to resume it from
 * the parts storage holds (the user chooses the same file again) or to discard it. Cancel aborts it:
 * nothing of it stays stored.
 */
import { ApiError, type Api, type MultipartUpload, type Video } from './api.ts';
import { contentTypeOf, formatBytes, formatProgress, formatTransfer, titleFromFileName, TransferRate } from './format.ts';
import type { PartsPlan } from './multipart-upload.ts';
import { createUnfinishedUploads, isSameFile, type UnfinishedUpload } from './unfinished-upload.ts';
import { putFile, UploadError, type RunningUpload } from './upload.ts';

export interface UploadElements {
  form: HTMLFormElement;
  title: HTMLInputElement;
  file: HTMLInputElement;
  dropZone: HTMLElement;
  progress: HTMLElement;
  fileName: HTMLElement;
  bar: HTMLProgressElement;
  numbers: HTMLElement;
  cancel: HTMLButtonElement;
  status: HTMLElement;
  problem: HTMLElement;
  /** The offer to resume an unfinished upload after a reload. */
  resume: HTMLElement;
  resumeText: HTMLElement;
  resumeDiscard: HTMLButtonElement;
}

export interface UploadFormOptions {
  api: Api;
  viewerId: string;
  elements: UploadElements;
  /** The new video, as soon as the API registered it. */
  onCreated(video: Video): void;
  /** The bytes are in storage: conversion starts now. */
  onUploaded(videoId: string): void;
  /** The upload did not happen; its record is gone. */
  onAbandoned(videoId: string): void;
}

function problemText(error: unknown, file: File): string {
  if (error instanceof ApiError) {
    if (error.status === 413) return `“${file.name}” is too large (${formatBytes(file.size)}). ${error.message}`;
    // The API's own words say what the file is and what it wants instead.
    if (error.status === 415) return `“${file.name}”: ${error.message}`;
    if (error.status === 400) return `“${file.name}”: ${error.message}`;
    if (error.status === 0) return 'The upload could not start: the service could not be reached. Check your connection and try again.';
    return `The upload could not start: ${error.message}`;
  }
  if (error instanceof UploadError) return error.message;
  return `The upload failed: ${(error as Error).message}`;
}

export function createUploadForm(options: UploadFormOptions) {
  const { api, elements } = options;
  const unfinished = createUnfinishedUploads(localStorage, options.viewerId);
  let running: RunningUpload | null = null;
  /** The unfinished upload on offer, once the API confirmed it is still in progress. */
  let offered: UnfinishedUpload | undefined;

  function busy(on: boolean): void {
    const hadFocus = elements.progress.contains(document.activeElement);
    elements.file.disabled = on;
    elements.title.disabled = on;
    elements.progress.hidden = !on;
    elements.dropZone.classList.toggle('busy', on);
    if (on) elements.resume.hidden = true;
    // Keyboard users land on what they can do next: cancel while it runs, pick a file after.
    if (on) elements.cancel.focus();
    else if (hadFocus) elements.file.focus();
  }

  function offer(upload: UnfinishedUpload | undefined, storedBytes = 0): void {
    offered = upload;
    elements.resume.hidden = !upload;
    if (!upload) return;
    const percent = Math.floor((storedBytes / upload.sizeBytes) * 100);
    elements.resumeText.textContent = `Unfinished upload of “${upload.filename}” (${percent}% stored): choose the same file to resume, or discard it.`;
  }

  /** On load: an upload this user left unfinished (a reload, a crash) is offered if the API still has it. */
  async function offerUnfinished(): Promise<void> {
    const upload = unfinished.get();
    if (!upload) return;
    try {
      const progress = await api.listUploadedParts(upload.videoId);
      if (!running) offer(upload, progress.storedBytes);
    } catch (error) {
      // Gone (404), completed or abandoned (409): nothing to resume. Otherwise ask again next load.
      if (error instanceof ApiError && (error.status === 404 || error.status === 409 || error.status === 403)) unfinished.clear(upload.videoId);
    }
  }

  /** Shows the transfer of one upload: the bar never goes back (a retried part starts over). */
  function progressView(file: File, startBytes: number) {
    const rate = new TransferRate();
    let shown = startBytes;
    let lastText = '';
    elements.fileName.textContent = `“${file.name}”`;
    elements.bar.value = Math.floor((startBytes / file.size) * 100);
    elements.numbers.textContent = formatProgress(startBytes, file.size);
    rate.sample(startBytes, performance.now());
    return {
      update(loaded: number, total: number): void {
        if (loaded > shown) {
          shown = loaded;
          // Bytes moved again, and the browser is online: whatever was being retried goes through.
          if (navigator.onLine) elements.status.textContent = `Uploading “${file.name}”…`;
        }
        rate.sample(shown, performance.now());
        const percent = total > 0 ? Math.floor((shown / total) * 100) : 0;
        if (percent !== elements.bar.value) elements.bar.value = percent;
        const text = formatTransfer(shown, total, rate.bytesPerSecond());
        if (text !== lastText) elements.numbers.textContent = lastText = text;
      },
    };
  }

  async function sendInParts(file: File, plan: PartsPlan, first: MultipartUpload | undefined, storedBytes: number): Promise<void> {
    let uploadInParts: typeof import('./multipart-upload.ts').uploadInParts;
    try {
      ({ uploadInParts } = await import('./multipart-upload.ts'));
    } catch {
      elements.problem.textContent =
        'The upload could not start: part of the page could not be loaded. Check your connection, then choose the same file to resume.';
      return offerUnfinished();
    }
    elements.status.textContent = `Uploading “${file.name}”…`;
    const view = progressView(file, storedBytes);
    busy(true);
    running = uploadInParts({
      api,
      file,
      plan,
      resume: !first,
      ...(first ? { firstUrls: { parts: first.parts, partUrlsExpireAt: first.partUrlsExpireAt } } : {}),
      onProgress: (loaded, total) => view.update(loaded, total),
      onRetry: () => {
        elements.status.textContent = 'Connection lost — retrying…';
      },
    });
    const onOffline = () => (elements.status.textContent = 'Connection lost — retrying…');
    const onOnline = () => (elements.status.textContent = `Uploading “${file.name}”…`);
    window.addEventListener('offline', onOffline);
    window.addEventListener('online', onOnline);
    try {
      await running.done;
      unfinished.clear(plan.videoId);
      elements.status.textContent = `Uploaded “${file.name}”. Its conversion shows in the library below.`;
      elements.title.value = '';
      options.onUploaded(plan.videoId);
    } catch (error) {
      if (error instanceof UploadError && error.reason === 'cancelled') {
        unfinished.clear(plan.videoId);
        elements.status.textContent = 'Upload cancelled.';
        options.onAbandoned(plan.videoId);
      } else {
        // The parts stored so far stay: the upload is offered for resuming.
        elements.status.textContent = '';
        elements.problem.textContent = problemText(error, file);
        void offerUnfinished();
      }
    } finally {
      window.removeEventListener('offline', onOffline);
      window.removeEventListener('online', onOnline);
      running = null;
      busy(false);
      elements.file.value = '';
    }
  }

  async function resume(file: File, upload: UnfinishedUpload): Promise<void> {
    const progress = await api.listUploadedParts(upload.videoId).catch((error: unknown) => {
      elements.problem.textContent = problemText(error, file);
      if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
        unfinished.clear(upload.videoId);
        offer(undefined);
      }
      return null;
    });
    if (!progress) return;
    const { videoId, uploadId, partSizeBytes, partCount, storedBytes } = progress;
    await sendInParts(file, { videoId, uploadId, partSizeBytes, partCount }, undefined, storedBytes);
  }

  async function upload(file: File): Promise<void> {
    if (running) return;
    elements.problem.textContent = '';
    elements.status.textContent = '';
    if (offered) {
      if (isSameFile(offered, file)) return resume(file, offered);
      // One unfinished upload at a time: resuming it needs that file, and discarding it frees its storage.
      elements.problem.textContent = `“${file.name}” is not the unfinished “${offered.filename}”: choose that file to resume it, or discard it first.`;
      elements.file.value = '';
      return;
    }
    const title = elements.title.value.trim() || titleFromFileName(file.name);
    const created = await api.createUpload({ title, filename: file.name, contentType: contentTypeOf(file), sizeBytes: file.size }).catch((error: unknown) => {
      elements.problem.textContent = problemText(error, file);
      return null;
    });
    if (!created) return;

    const now = new Date().toISOString();
    options.onCreated({ videoId: created.videoId, title, ownerId: options.viewerId, status: 'awaiting_upload', createdAt: now, updatedAt: now });
    const plan = created.upload;
    if (plan.method === 'multipart') {
      unfinished.save({ videoId: created.videoId, title, filename: file.name, sizeBytes: file.size, lastModified: file.lastModified });
      const { uploadId, partSizeBytes, partCount } = plan;
      return sendInParts(file, { videoId: created.videoId, uploadId, partSizeBytes, partCount }, plan, 0);
    }

    const view = progressView(file, 0);
    busy(true);
    elements.status.textContent = `Uploading “${file.name}”…`;
    running = putFile(plan, file, (loaded, total) => view.update(loaded, total));
    try {
      await running.done;
      elements.status.textContent = `Uploaded “${file.name}”. Its conversion shows in the library below.`;
      elements.title.value = '';
      options.onUploaded(created.videoId);
    } catch (error) {
      elements.status.textContent = error instanceof UploadError && error.reason === 'cancelled' ? 'Upload cancelled.' : '';
      if (!(error instanceof UploadError && error.reason === 'cancelled')) elements.problem.textContent = problemText(error, file);
      // Nothing arrived: the record would wait for an upload forever.
      await api.deleteVideo(created.videoId).catch(() => undefined);
      options.onAbandoned(created.videoId);
    } finally {
      running = null;
      busy(false);
      elements.file.value = '';
    }
  }

  async function discard(upload: UnfinishedUpload): Promise<void> {
    elements.problem.textContent = '';
    try {
      await api.abortUpload(upload.videoId);
    } catch (error) {
      // Gone or completed already: nothing left to discard.
      if (!(error instanceof ApiError && (error.status === 404 || error.status === 409))) {
        elements.problem.textContent = `Could not discard the upload: ${(error as Error).message}`;
        return;
      }
    }
    unfinished.clear(upload.videoId);
    offer(undefined);
    elements.status.textContent = `Discarded the unfinished upload of “${upload.filename}”.`;
    options.onAbandoned(upload.videoId);
  }

  elements.resumeDiscard.addEventListener('click', () => {
    if (!offered) return;
    elements.resumeDiscard.disabled = true;
    void discard(offered).finally(() => (elements.resumeDiscard.disabled = false));
  });
  void offerUnfinished();

  elements.file.addEventListener('change', () => {
    const file = elements.file.files?.[0];
    if (file) void upload(file);
  });
  elements.form.addEventListener('submit', (event) => event.preventDefault());
  elements.cancel.addEventListener('click', () => running?.cancel());

  // Drag and drop onto the zone (the file input itself stays the keyboard way in).
  const zone = elements.dropZone;
  zone.addEventListener('dragover', (event) => {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = running ? 'none' : 'copy';
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    const files = event.dataTransfer?.files;
    if (!files || files.length === 0) return;
    if (files.length > 1) {
      elements.problem.textContent = 'Drop one file at a time.';
      return;
    }
    void upload(files[0]!);
  });

  return {
    /** Stops a running upload (signing out). */
    cancel(): void {
      running?.cancel();
    },
  };
}
