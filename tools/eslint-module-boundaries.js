// A module (a folder under src/) reaches another only through that module's
// index.ts. The few shared files every module may use are listed in SHARED.
import path from 'node:path';

const SHARED = new Set(['errors.ts', 'http/context.ts', 'http/pagination.ts', 'http/json-schemas.ts', 'config/config.ts']);

function moduleOf(rel) {
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0] : null;
}

export const moduleBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'cross-module imports must go through the module index.ts' },
    messages: {
      deep: "'{{spec}}' reaches into module '{{target}}'; import from '{{target}}/index.js' instead (or add a named export there)",
    },
    schema: [],
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const srcRoot = path.join(context.cwd ?? process.cwd(), 'src');
    const relFile = path.relative(srcRoot, file);
    if (relFile.startsWith('..')) return {};
    const from = moduleOf(relFile);
    const check = (node) => {
      const spec = node.source?.value;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const abs = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
      const rel = path.relative(srcRoot, abs);
      if (rel.startsWith('..')) return;
      const target = moduleOf(rel);
      if (!target || target === from) return;
      if (SHARED.has(rel.split(path.sep).join('/'))) return;
      if (rel === path.join(target, 'index.ts')) return;
      context.report({ node: node.source, messageId: 'deep', data: { spec, target } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};
