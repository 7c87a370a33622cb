/** Notifications: generic JSON webhook and Slack-compatible channels, retries, failure records. */
export * from './events.js';
export * from './channels.js';
export * from './failures.js';
export * from './send.js';
