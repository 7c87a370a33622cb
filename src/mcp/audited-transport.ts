/**
 * Every tools/call is audited, including the ones the SDK answers itself — unknown tool, arguments
 * that fail the input schema — before any prodguard code runs (red team ag-002: a probing agent's
 * rejected calls left no trace). A thin wrapper around the transport sees each tools/call request
 * and its answer; calls prodguard's own handler audited are marked by request id and skipped.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface RejectedCall {
  tool: string;
  args: string;
  reason: string;
}

type Id = string | number;

export function auditedTransport(t: Transport, handled: Set<Id>, onRejected: (call: RejectedCall) => Promise<void>): Transport {
  const calls = new Map<Id, { tool: string; args: string }>();
  const wrapper: Transport = {
    start: () => t.start(),
    close: () => t.close(),
    async send(message: JSONRPCMessage, options) {
      const m = message as { id?: Id; result?: { isError?: boolean; content?: Array<{ text?: string }> }; error?: { message?: string } };
      if (m.id !== undefined && calls.has(m.id)) {
        const call = calls.get(m.id)!;
        calls.delete(m.id);
        if (!handled.delete(m.id) && (m.error || m.result?.isError)) {
          // Recorded before the agent sees the answer, like every other call.
          await onRejected({ ...call, reason: m.error?.message ?? m.result?.content?.[0]?.text ?? 'rejected' }).catch(() => undefined);
        }
      }
      return t.send(message, options);
    },
  };
  Object.defineProperty(wrapper, 'sessionId', { get: () => t.sessionId });
  if (t.setProtocolVersion) wrapper.setProtocolVersion = (v) => t.setProtocolVersion!(v);
  t.onclose = () => wrapper.onclose?.();
  t.onerror = (e) => wrapper.onerror?.(e);
  t.onmessage = (message, extra) => {
    const m = message as { id?: Id; method?: string; params?: { name?: unknown; arguments?: unknown } };
    if (m.method === 'tools/call' && m.id !== undefined) {
      let args: string;
      try {
        args = JSON.stringify(m.params?.arguments ?? {}).slice(0, 2000);
      } catch {
        args = '?';
      }
      calls.set(m.id, { tool: typeof m.params?.name === 'string' ? m.params.name.slice(0, 100) : '?', args });
    }
    wrapper.onmessage?.(message, extra);
  };
  return wrapper;
}
