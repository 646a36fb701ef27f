/**
 * The web console (issue 16): a Preact app (console/ at the repository's
 * root, built into dist/console-assets) served at /console by the service
 * itself. It calls the public API only, with the signed-in user's token held
 * in the page's memory.
 */
export { DEFAULT_ASSETS_DIR, loadConsoleAssets, type Asset, type ConsoleAssets } from './console-assets.js';
export { CONSOLE_CSP, consoleRoutes } from './console-routes.js';
