import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** PagerDuty's REST v2 OpenAPI document, beside the project in `../shared` (absent on machines without it). */
export const PAGERDUTY_OPENAPI_PATH = join(__dirname, '..', '..', '..', 'shared', 'reference', 'pagerduty-openapi', 'rest-v2.openapi.json');
const DOCUMENT_ID = 'pagerduty-rest-v2';

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  $ref?: string;
}

type Operation = { parameters?: Parameter[]; responses: Record<string, { $ref?: string }> };

export interface OpenApiValidator {
  /** Validates a JSON body against `#/paths/<path>/<method>/<pointer>` (e.g. `responses/200/content/application~1json/schema`). */
  validate(path: string, method: string, pointer: string, body: unknown): string[];
  /** Validates a response body against the operation's documented answer for that status (following `$ref`s). */
  validateResponse(path: string, method: string, status: number, body: unknown): string[];
  /** Validates a body against `#/components/schemas/<name>`. */
  validateSchema(name: string, body: unknown): string[];
  /** Names of the header parameters the operation marks required (e.g. `From`, `Accept`). */
  requiredHeaders(path: string, method: string): string[];
}

const escape = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** Loads the whole document into ajv once (strict off, formats on) and compiles `$ref`s into it on demand. */
export function loadPagerDutyOpenApi(): OpenApiValidator {
  const document = JSON.parse(readFileSync(PAGERDUTY_OPENAPI_PATH, 'utf8')) as {
    paths: Record<string, Record<string, Operation>>;
  } & Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  ajv.addFormat('url', true);
  ajv.addFormat('tzinfo', true);
  ajv.addFormat('activesupport-time-zone', true);
  ajv.addSchema(document, DOCUMENT_ID);
  const compiled = new Map<string, ValidateFunction>();
  const resolve = (ref: string): Parameter =>
    ref
      .slice(2)
      .split('/')
      .reduce<unknown>(
        (node, key) => (node as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')],
        document,
      ) as Parameter;
  const check = (pointer: string, body: unknown): string[] => {
    const ref = `${DOCUMENT_ID}${pointer}`;
    let validate = compiled.get(ref);
    if (validate === undefined) {
      validate = ajv.compile({ $ref: ref });
      compiled.set(ref, validate);
    }
    return validate(body) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''}`);
  };
  return {
    validate: (path, method, pointer, body) => check(`#/paths/${escape(path)}/${method.toLowerCase()}/${pointer}`, body),
    validateResponse: (path, method, status, body) => {
      const answer = document.paths[path][method.toLowerCase()].responses[String(status)];
      if (answer === undefined) return [`status ${status} is not documented for ${method} ${path}`];
      const base = answer.$ref ?? `#/paths/${escape(path)}/${method.toLowerCase()}/responses/${status}`;
      return check(`${base}/content/application~1json/schema`, body);
    },
    validateSchema: (name, body) => check(`#/components/schemas/${escape(name)}`, body),
    requiredHeaders: (path, method) =>
      (document.paths[path][method.toLowerCase()].parameters ?? [])
        .map((parameter) => (parameter.$ref === undefined ? parameter : resolve(parameter.$ref)))
        .filter((parameter) => parameter.in === 'header' && parameter.required === true)
        .map((parameter) => parameter.name),
  };
}

export const pagerDutyOpenApiAvailable = (): boolean => existsSync(PAGERDUTY_OPENAPI_PATH);
