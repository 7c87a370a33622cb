/** Reading a Makefile's recipe for a target (with its prerequisites first), make variables expanded. */
export function makeRecipe(text: string, target: string | null, env: Record<string, string | undefined> = {}): string[] | null {
  const vars: Record<string, string> = {};
  const rules = new Map<string, { deps: string[]; recipe: string[] }>();
  let current: { deps: string[]; recipe: string[] } | null = null;
  let first: string | null = null;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const line of lines) {
    if (line.startsWith('\t')) {
      if (current) current.recipe.push(line.slice(1));
      continue;
    }
    const t = line.replace(/#.*$/, '').trimEnd();
    if (!t.trim()) continue;
    const assign = /^\s*(?:export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(:?:=|\?=|\+=|=)\s*(.*)$/.exec(t);
    if (assign && !/^[^=]*:[^=]/.test(t.split(assign[2])[0])) {
      if (assign[2] === '?=' && vars[assign[1]] !== undefined) continue;
      vars[assign[1]] = assign[2] === '+=' ? `${vars[assign[1]] ?? ''} ${assign[3]}` : assign[3];
      current = null;
      continue;
    }
    const rule = /^([^:=]+?)\s*::?\s*([^=]*)$/.exec(t);
    if (rule) {
      const recipeInline = rule[2].includes(';') ? rule[2].slice(rule[2].indexOf(';') + 1) : null;
      const deps = (recipeInline !== null ? rule[2].slice(0, rule[2].indexOf(';')) : rule[2]).split(/\s+/).filter(Boolean);
      current = { deps, recipe: recipeInline ? [recipeInline] : [] };
      for (const name of rule[1].split(/\s+/).filter(Boolean)) {
        if (name.startsWith('.')) continue;
        rules.set(name, current);
        first ??= name;
      }
      continue;
    }
    current = null;
  }
  const expand = (s: string, depth = 0): string =>
    depth > 10 ? s : s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, a, b) => expand(vars[a ?? b] ?? env[a ?? b] ?? '', depth + 1)).replace(/\$\$/g, '$');
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string): boolean => {
    if (seen.has(name)) return true;
    seen.add(name);
    const r = rules.get(name);
    if (!r) return false;
    for (const d of r.deps) visit(d);
    for (const l of r.recipe) out.push(expand(l.replace(/^[@+-]+/, '')));
    return true;
  };
  const t = target ?? first;
  if (!t || !visit(t)) return null;
  return out;
}
