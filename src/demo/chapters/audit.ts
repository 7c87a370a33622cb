/**
 * Demo chapter: the record of it all. The audit chain head is signed with the CI/serve key the
 * policy in force names and written to every backup destination; `audit verify` checks the hash
 * chain and compares it with those anchors (which the person being audited cannot rewrite); a
 * copy of the log with one record edited is caught. Then the incident is closed and its
 * timeline — notes merged with the audit records of the period — printed.
 */
import { readFileSync } from 'node:fs';
import type { DemoChapter } from '../types.js';
import { verifyAuditText } from '../../audit/log.js';
import { readAuditHead } from '../../context.js';
import { verifyAnchored, writeCheckpoint } from '../../audit/anchor.js';
import { loadPrivateKey } from '../../migrate/keys.js';
import { closeIncident, exportIncident } from '../../emergency/incident.js';

export const auditChapter: DemoChapter = {
  id: 'audit',
  title: 'The record: the audit log verified against its anchor off this machine, and the incident timeline',
  async run(demo) {
    const ctx = demo.ctx;

    const keyFile = demo.state?.checkpointKeyFile as string | undefined;
    if (keyFile && ctx.loaded.config.backup.destinations.length) {
      demo.showCommand('prodguard audit checkpoint --key ~/.config/prodguard/keys/ci-checkpoint.ed25519.key   # the scheduled job does this');
      const c = await writeCheckpoint(ctx, loadPrivateKey(keyFile));
      demo.say(`  head of the chain, record ${c.checkpoint.seq} (${c.checkpoint.hash.slice(0, 12)}), signed with the key the policy in force names and written to ${c.destinations.join(' and ')}`);
    } else demo.say('(no checkpoint key or no backup destination in this run: the chain is checked without an anchor)');

    demo.showCommand('prodguard audit verify');
    const head = await readAuditHead(ctx);
    const text = readFileSync(ctx.auditLog.file, 'utf8');
    const chain = verifyAuditText(text, head);
    if (!chain.ok) throw new Error(`the audit chain is broken: ${chain.problems[0]?.problem}`);
    const anchors = await verifyAnchored(ctx);
    if (anchors.problems.length) throw new Error(`the audit log disagrees with its anchors: ${anchors.problems[0].problem}`);
    demo.say(`  chain intact: ${chain.records} records; anchors agree: ${anchors.checkpoints} signed checkpoint(s)${anchors.anchored ? `, ${anchors.anchored} record(s) in the team store` : ''}`);
    for (const n of anchors.notes) demo.say(`  note: ${n}`);

    // What an insider who edits the log gets: one record's verdict changed in a copy.
    const lines = text.trimEnd().split('\n');
    const i = lines.findIndex((l) => l.includes('"verdict":"deny"'));
    if (i >= 0) {
      const forged = [...lines];
      forged[i] = forged[i].replace('"verdict":"deny"', '"verdict":"allow"');
      const bad = verifyAuditText(forged.join('\n') + '\n', head);
      if (bad.ok) throw new Error('an edited audit record was not detected');
      demo.say(`  and a copy with record ${i + 1}'s "deny" edited to "allow": ${bad.problems[0].problem}`);
    }

    if (demo.state?.incident) {
      demo.showCommand('prodguard incident close && prodguard incident export');
      const inc = await closeIncident(ctx);
      const md = await exportIncident(ctx, inc.id);
      const rows = md.split('\n').filter((l) => l.startsWith('| 20'));
      demo.say(`  # Incident: ${inc.title} — ${rows.length} entries, notes merged with the audit records of the period`);
      const keep = rows.filter((r) => /note|break-glass|gateway|recovered|backup/.test(r)).slice(0, 12);
      for (const r of keep) demo.say(`  ${r.length > 160 ? r.slice(0, 157) + '…' : r}`);
      if (keep.length < rows.length) demo.say(`  … (${rows.length - keep.length} more rows in the exported markdown)`);
    }
  },
};
