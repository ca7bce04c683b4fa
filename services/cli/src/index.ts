/** Public entry of @duet/cli. */
export { main, USAGE } from './main.ts';
export { ensureDemoModel, cacheDir } from './commands/demo.ts';
export { launchPlatform, runLogDir, type Platform, type PlatformOptions } from './launcher/platform.ts';
