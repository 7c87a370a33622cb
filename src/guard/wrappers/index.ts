/** Every wrapper family, looked up by program name; `unwrap` and the wrapper example tests read this list. */
import type { WrapCtx, Wrapper } from './types.js';
import { wrapper as sudo } from './sudo.js';
import { wrapper as env } from './env.js';
import { wrapper as prefix, timeout } from './prefix.js';
import { wrapper as xargs, watch } from './xargs.js';
import { npx, packageScripts, runners } from './package-runner.js';
import { wrapper as secrets } from './secrets.js';
import { wrapper as make } from './make.js';
import { shells, evalBuiltin, alias, source } from './shell.js';
import { wrapper as container } from './container.js';
import { wrapper as ssh } from './ssh.js';
import { wrapper as interpreter } from './interpreter.js';
import { wrapper as scriptFile } from './script-file.js';
import { trap, su, scriptCmd, detached, tmux, at, find, parallel, nodeRunners, git, monorepo, editors } from './runs-strings.js';

export const wrappers: Wrapper[] = [sudo, env, prefix, timeout, watch, xargs, npx, runners, secrets, packageScripts, make, evalBuiltin, alias, source, container, ssh, shells, interpreter, trap, su, scriptCmd, detached, tmux, at, find, parallel, nodeRunners, git, monorepo, editors, scriptFile];

const byName = new Map<string, Wrapper>();
for (const w of wrappers) for (const n of w.names) byName.set(n, w);

/** The family that handles this program, if any. */
export function wrapperFor(c: WrapCtx): Wrapper | undefined {
  return byName.get(c.name) ?? wrappers.find((w) => w.matches?.(c));
}

/** Every program name a wrapper handles (decide's fast path must parse commands that start with one). */
export function wrapperNames(): string[] {
  return [...byName.keys()];
}
