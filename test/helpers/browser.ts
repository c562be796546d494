/** Headless Chromium as it runs on these machines (FACTS.md), for playwright-core's `chromium.launch`. */
export const CHROMIUM = '/usr/bin/chromium';

/** No GPU, no sandbox in a container, no background traffic; playwright adds a fresh profile. */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
