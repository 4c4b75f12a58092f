/**
 * The wire side shared by the AWS context emulators: request fields, typed service errors, and the two protocols the
 * installed SDK v3 clients speak for these services (read from `@aws-sdk/client-*` `protocolSettings`, checked on the
 * wire): AWS JSON (CloudWatch: JSON 1.0 with `awsQueryCompatible`, target `GraniteServiceVersion20100801.<Op>`;
 * CloudTrail and CloudWatch Logs: JSON 1.1, `CloudTrail_20131101.<Op>` / `Logs_20140328.<Op>`) and AWS Query (STS:
 * form-encoded in, XML out). Timestamps in JSON bodies are epoch seconds, as the SDK writes and reads them.
 */

export type Input = Record<string, unknown>;
export type Output = Record<string, unknown>;

/** The services these emulators answer for, named as in IAM actions (`cloudwatch:GetMetricData`). */
export type AwsService = 'cloudwatch' | 'cloudtrail' | 'logs' | 'sts';

/**
 * An error the emulated service answers with. `code` is the error shape's name (what the SDK's typed exception is
 * called); `queryCode` is the AWS Query error code that query-compatible JSON services (CloudWatch) and STS put on the
 * wire (`InvalidParameterValue` for `InvalidParameterValueException`).
 */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly queryCode = code,
  ) {
    super(message);
  }
}

/** A request the caller got wrong: the service-specific error for a bad parameter. */
export type BadParameter = (message: string) => ServiceError;

export class FieldReader {
  constructor(
    private readonly input: Input,
    private readonly bad: BadParameter,
  ) {}

  string(field: string): string | undefined {
    const value = this.input[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw this.bad(`${field} must be a string.`);
    return value;
  }

  requiredString(field: string): string {
    const value = this.string(field);
    if (value === undefined || value === '') throw this.bad(`${field} is required.`);
    return value;
  }

  number(field: string): number | undefined {
    const value = this.input[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.bad(`${field} must be a number.`);
    return value;
  }

  /** A timestamp as the SDK's JSON protocols send it: epoch seconds, possibly fractional; returned in milliseconds. */
  epochSecondsAsMs(field: string): number | undefined {
    const seconds = this.number(field);
    return seconds === undefined ? undefined : Math.round(seconds * 1000);
  }

  list(field: string): unknown[] | undefined {
    const value = this.input[field];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw this.bad(`${field} must be a list.`);
    return value as unknown[];
  }

  stringList(field: string): string[] | undefined {
    const value = this.list(field);
    if (value !== undefined && value.some((item) => typeof item !== 'string')) throw this.bad(`${field} must be a list of strings.`);
    return value as string[] | undefined;
  }

  object(field: string): Input | undefined {
    const value = this.input[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw this.bad(`${field} must be a structure.`);
    return value as Input;
  }
}

/** How a JSON service writes its error bodies and headers. */
export interface JsonErrorStyle {
  /** Prefix of `__type` (`com.amazonaws.cloudwatch#`), or '' for the bare shape name. */
  typePrefix: string;
  /** Query-compatible services add `x-amzn-query-error: <QueryCode>;Sender|Receiver`. */
  queryCompatible: boolean;
}

export interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function jsonAnswer(body: Output, contentType: string): WireAnswer {
  return { status: 200, headers: { 'content-type': contentType }, body: JSON.stringify(body) };
}

export function jsonError(error: ServiceError, style: JsonErrorStyle, contentType: string): WireAnswer {
  return {
    status: error.status,
    headers: {
      'content-type': contentType,
      'x-amzn-errortype': error.code,
      ...(style.queryCompatible ? { 'x-amzn-query-error': `${error.queryCode};${error.status >= 500 ? 'Receiver' : 'Sender'}` } : {}),
    },
    body: JSON.stringify({ __type: `${style.typePrefix}${error.code}`, message: error.message }),
  };
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (character) => XML_ESCAPES[character]);

/** An XML element tree for AWS Query answers: nested records become nested elements, in key order. */
export type XmlTree = { [element: string]: string | XmlTree };

function xmlElements(tree: XmlTree): string {
  return Object.entries(tree)
    .map(([name, value]) => `<${name}>${typeof value === 'string' ? escapeXml(value) : xmlElements(value)}</${name}>`)
    .join('');
}

export function queryAnswer(operation: string, namespace: string, result: XmlTree, requestId: string): WireAnswer {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body:
      `<${operation}Response xmlns="${namespace}"><${operation}Result>${xmlElements(result)}</${operation}Result>` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`,
  };
}

export function queryError(error: ServiceError, namespace: string, requestId: string): WireAnswer {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  return {
    status: error.status,
    headers: { 'content-type': 'text/xml' },
    body:
      `<ErrorResponse xmlns="${namespace}"><Error><Type>${type}</Type><Code>${escapeXml(error.queryCode)}</Code>` +
      `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

/** The access key id a SigV4-signed request was signed with (`Credential=<key>/<date>/<region>/<service>/aws4_request`). */
export function signingAccessKey(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
}

/** The region a SigV4 request was signed for (`Credential=AKID/20261130/eu-west-1/monitoring/aws4_request`). */
export function signingRegion(authorization: string | undefined): string | undefined {
  return /Credential=[^/,\s]+\/\d{8}\/([a-z0-9-]+)\//.exec(authorization ?? '')?.[1];
}
