/**
 * The upload form: a file picked or dropped is registered with the API (which may refuse it as
 * too large, 413, or not a video, 415), then PUT straight to storage with a progress bar, bytes
 * and percent, and a cancel button. A cancelled or failed upload's record is deleted again.
 */
import { ApiError, type Api, type Video } from './api.ts';
import { contentTypeOf, formatBytes, formatProgress, titleFromFileName } from './format.ts';
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
  let running: RunningUpload | null = null;

  function busy(on: boolean): void {
    const hadFocus = elements.progress.contains(document.activeElement);
    elements.file.disabled = on;
    elements.title.disabled = on;
    elements.progress.hidden = !on;
    elements.dropZone.classList.toggle('busy', on);
    // Keyboard users land on what they can do next: cancel while it runs, pick a file after.
    if (on) elements.cancel.focus();
    else if (hadFocus) elements.file.focus();
  }

  async function upload(file: File): Promise<void> {
    if (running) return;
    elements.problem.textContent = '';
    elements.status.textContent = '';
    const title = elements.title.value.trim() || titleFromFileName(file.name);
    const created = await api
      .createUpload({ title, filename: file.name, contentType: contentTypeOf(file), sizeBytes: file.size, multipart: false })
      .catch((error: unknown) => {
        elements.problem.textContent = problemText(error, file);
        return null;
      });
    if (!created) return;

    const now = new Date().toISOString();
    options.onCreated({ videoId: created.videoId, title, ownerId: options.viewerId, status: 'awaiting_upload', createdAt: now, updatedAt: now });
    elements.fileName.textContent = `“${file.name}”`;
    elements.bar.value = 0;
    elements.numbers.textContent = formatProgress(0, file.size);
    busy(true);
    elements.status.textContent = `Uploading “${file.name}”…`;
    let lastPercent = -1;
    if (created.upload.method !== 'PUT') throw new Error('The API answered a multipart upload to a single-PUT request');
    running = putFile(created.upload, file, (loaded, total) => {
      const percent = total > 0 ? Math.floor((loaded / total) * 100) : 0;
      if (percent === lastPercent) return;
      lastPercent = percent;
      elements.bar.value = percent;
      elements.numbers.textContent = formatProgress(loaded, total);
    });
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
