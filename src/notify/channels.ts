/**
 * How one event looks on each kind of channel: the generic webhook gets the event as JSON;
 * a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, Discord's /slack endpoint)
 * gets `{ text }`. Input is already masked.
 */
import { isAlarm, NOTIFY_EVENTS, type NotifyEvent } from './events.js';

export type ChannelFormat = 'json' | 'slack';

export function channelBody(format: ChannelFormat, ev: NotifyEvent): unknown {
  // Details are also lifted to the top level so receivers can read e.g. `job` or `grantId` directly.
  if (format === 'json') return { ...(ev.details ?? {}), ...ev };
  const icon = isAlarm(ev.event) ? ':rotating_light:' : ':information_source:';
  return { text: `${icon} prodguard ${ev.project}: ${NOTIFY_EVENTS[ev.event]}${ev.environment ? ` (${ev.environment})` : ''} — ${ev.summary}` };
}
