/**
 * Lambda runtimes build their services from the environment once per container, at the first
 * invocation or import, and reuse them for every later invocation.
 */
import { loadConfig, type Config } from './config.ts';
import { createServices, type Services } from './services.ts';

let cached: { config: Config; services: Services } | undefined;

export function servicesFromEnvironment(): { config: Config; services: Services } {
  if (!cached) {
    const config = loadConfig(process.env);
    cached = { config, services: createServices(config) };
  }
  return cached;
}
