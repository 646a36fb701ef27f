import type * as AjvCore from 'ajv';
import type { Ajv, Options } from 'ajv';
import type * as Ajv2019Module from 'ajv/dist/2019.js';
import type { Ajv2019 } from 'ajv/dist/2019.js';
import type * as Ajv2020Module from 'ajv/dist/2020.js';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { lazyRequire } from '../lazy-require.js';
import { validationFailed } from '../errors.js';

// Loaded by the first tool schema checked or compiled (~60 ms and several MB at startup otherwise).
const ajvCore = lazyRequire<typeof AjvCore>('ajv');
const ajv2019 = lazyRequire<typeof Ajv2019Module>('ajv/dist/2019.js');
const ajv2020 = lazyRequire<typeof Ajv2020Module>('ajv/dist/2020.js');
// ajv-formats is CommonJS: module.exports is the plugin (and so is its `default`).
type AddFormats = (ajv: Ajv | Ajv2019 | Ajv2020) => unknown;
const addFormatsModule = lazyRequire<AddFormats & { default?: AddFormats }>('ajv-formats');
const addFormats: AddFormats = (ajv) => (addFormatsModule().default ?? addFormatsModule())(ajv);

/**
 * Tool input and output schemas must be JSON Schemas a validator can compile
 * as written. Strict mode refuses what would otherwise be silently ignored:
 * unknown keywords ("requird"), `required` naming undeclared properties,
 * object keywords without `type: "object"`. `$schema` picks the dialect;
 * without it, draft-07 (what function-calling models expect).
 *
 * A fresh Ajv instance per check: Ajv caches every compiled schema and
 * registers each `$id` globally, so a shared instance would grow with every
 * request and refuse a second schema reusing an `$id`.
 */

const OPTIONS: Options = { strict: true, allowUnionTypes: true, allErrors: true };

const DIALECTS: Record<string, () => Ajv | Ajv2019 | Ajv2020> = {
  'http://json-schema.org/draft-07/schema': () => new (ajvCore().Ajv)(OPTIONS),
  'https://json-schema.org/draft/2019-09/schema': () => new (ajv2019().Ajv2019)(OPTIONS),
  'https://json-schema.org/draft/2020-12/schema': () => new (ajv2020().Ajv2020)(OPTIONS),
};
const DEFAULT_DIALECT = 'http://json-schema.org/draft-07/schema';

/** The reason a schema does not compile, or null when it does. */
export function jsonSchemaProblem(schema: Record<string, unknown>): string | null {
  const declared = typeof schema.$schema === 'string' ? schema.$schema.replace(/#$/, '') : DEFAULT_DIALECT;
  const make = DIALECTS[declared];
  if (!make) return `$schema ${String(schema.$schema)} is not a supported dialect (use draft-07, 2019-09 or 2020-12)`;
  const ajv = make();
  addFormats(ajv);
  try {
    ajv.compile(schema);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** 400 validation_failed naming the field and Ajv's reason. */
export function assertJsonSchema(field: string, schema: Record<string, unknown> | null | undefined): void {
  if (schema === null || schema === undefined) return;
  const problem = jsonSchemaProblem(schema);
  if (problem) {
    throw validationFailed(`${field} is not a valid JSON Schema: ${problem}`, [{ path: `body.${field}`, message: problem }]);
  }
}

/** What is wrong with a value, one line per problem (path and reason), or null when it fits. */
export type SchemaValidator = (value: unknown) => string[] | null;

/**
 * A validator for values against a stored schema (tool arguments), with the
 * same dialects and strictness the schema was accepted under. Throws when the
 * schema does not compile. Compile once and reuse the validator: each call of
 * this makes a fresh Ajv instance (see above).
 */
export function compileValidator(schema: Record<string, unknown>): SchemaValidator {
  const declared = typeof schema.$schema === 'string' ? schema.$schema.replace(/#$/, '') : DEFAULT_DIALECT;
  const make = DIALECTS[declared];
  if (!make) throw new Error(`$schema ${String(schema.$schema)} is not a supported dialect`);
  const ajv = make();
  addFormats(ajv);
  const validate = ajv.compile(schema);
  return (value) => {
    if (validate(value)) return null;
    return (validate.errors ?? []).map((e) => {
      const where = e.instancePath || '(root)';
      const extra = e.keyword === 'additionalProperties' ? ` '${String((e.params as { additionalProperty?: unknown }).additionalProperty)}'` : '';
      return `${where} ${e.message ?? 'is invalid'}${extra}`;
    });
  };
}
