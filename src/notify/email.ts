/**
 * The e-mail channel: one plain-text message per event over SMTP (nodemailer). Credentials come
 * from variables named in the config, never from the config itself. Returns null on success or a
 * one-line (masked) error, like the webhook poster, so the retry loop treats both alike.
 */
import { isAlarm, NOTIFY_EVENTS, type NotifyEvent } from './events.js';
import { maskSecrets } from '../security/mask.js';
import { errorMessage } from '../errors.js';

export interface EmailChannel {
  name: string;
  host: string;
  port: number;
  secure: boolean;
  from: string;
  to: string[];
  userEnv?: string;
  passwordEnv?: string;
}

export function emailSubject(ev: NotifyEvent): string {
  return `${isAlarm(ev.event) ? '[ALERT] ' : ''}prodguard ${ev.project}: ${NOTIFY_EVENTS[ev.event]}${ev.environment ? ` (${ev.environment})` : ''}`;
}

export async function sendEmailOnce(ch: EmailChannel, ev: NotifyEvent, env: Record<string, string | undefined>, timeoutMs: number): Promise<string | null> {
  const { createTransport } = await import('nodemailer');
  const user = ch.userEnv ? env[ch.userEnv] : undefined;
  const pass = ch.passwordEnv ? env[ch.passwordEnv] : undefined;
  const transport = createTransport({
    host: ch.host, port: ch.port, secure: ch.secure,
    ...(user ? { auth: { user, pass: pass ?? '' } } : {}),
    connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs,
  });
  try {
    const details = ev.details ? `\n\n${Object.entries(ev.details).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n')}` : '';
    await transport.sendMail({ from: ch.from, to: ch.to, subject: emailSubject(ev), text: `${ev.summary}\n\nevent: ${ev.event}\nenvironment: ${ev.environment ?? '-'}\ntime: ${ev.at}${details}\n` });
    return null;
  } catch (err) {
    return maskSecrets(errorMessage(err).split('\n')[0]);
  } finally {
    transport.close();
  }
}
