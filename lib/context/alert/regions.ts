/**
 * CloudWatch's SNS message names the region for people ("EU (Ireland)", newer messages "Europe (Ireland)"); the AWS
 * providers need the code. An ARN's region, when there is one, is more reliable than this table.
 */
const REGION_BY_DISPLAY_NAME: Record<string, string> = {
  'us east (n. virginia)': 'us-east-1',
  'us east (ohio)': 'us-east-2',
  'us west (n. california)': 'us-west-1',
  'us west (oregon)': 'us-west-2',
  'africa (cape town)': 'af-south-1',
  'asia pacific (hong kong)': 'ap-east-1',
  'asia pacific (taipei)': 'ap-east-2',
  'asia pacific (hyderabad)': 'ap-south-2',
  'asia pacific (jakarta)': 'ap-southeast-3',
  'asia pacific (malaysia)': 'ap-southeast-5',
  'asia pacific (melbourne)': 'ap-southeast-4',
  'asia pacific (mumbai)': 'ap-south-1',
  'asia pacific (osaka)': 'ap-northeast-3',
  'asia pacific (seoul)': 'ap-northeast-2',
  'asia pacific (singapore)': 'ap-southeast-1',
  'asia pacific (sydney)': 'ap-southeast-2',
  'asia pacific (thailand)': 'ap-southeast-7',
  'asia pacific (tokyo)': 'ap-northeast-1',
  'canada (central)': 'ca-central-1',
  'canada west (calgary)': 'ca-west-1',
  'eu (frankfurt)': 'eu-central-1',
  'eu (ireland)': 'eu-west-1',
  'eu (london)': 'eu-west-2',
  'eu (milan)': 'eu-south-1',
  'eu (paris)': 'eu-west-3',
  'eu (spain)': 'eu-south-2',
  'eu (stockholm)': 'eu-north-1',
  'eu (zurich)': 'eu-central-2',
  'israel (tel aviv)': 'il-central-1',
  'mexico (central)': 'mx-central-1',
  'middle east (bahrain)': 'me-south-1',
  'middle east (uae)': 'me-central-1',
  'south america (sao paulo)': 'sa-east-1',
  'south america (são paulo)': 'sa-east-1',
  'aws govcloud (us-east)': 'us-gov-east-1',
  'aws govcloud (us-west)': 'us-gov-west-1',
  'china (beijing)': 'cn-north-1',
  'china (ningxia)': 'cn-northwest-1',
};

const REGION_CODE = /^(?:[a-z]{2}|us-gov|us-iso[a-z]?)-[a-z]+-\d{1,2}$/;

export function isRegionCode(text: string): boolean {
  return REGION_CODE.test(text);
}

/** `eu-west-1` from "EU (Ireland)", "Europe (Ireland)" or "eu-west-1"; undefined for anything else. */
export function regionCode(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const lower = text.trim().toLowerCase();
  if (isRegionCode(lower)) return lower;
  return REGION_BY_DISPLAY_NAME[lower.replace(/^europe \(/, 'eu (')];
}

export interface ArnParts {
  partition: string;
  service: string;
  region?: string;
  accountId?: string;
  resource: string;
}

/** The parts of an ARN; region and account only when they look real (sample payloads carry "REGION" placeholders). */
export function parseArn(arn: string | undefined): ArnParts | undefined {
  const match = arn === undefined ? null : /^arn:([a-z-]+):([a-z0-9-]+):([^:]*):([^:]*):(.+)$/.exec(arn.trim());
  if (match === null) return undefined;
  const [, partition = '', service = '', region = '', accountId = '', resource = ''] = match;
  const parts: ArnParts = { partition, service, resource };
  if (isRegionCode(region)) parts.region = region;
  if (/^\d{12}$/.test(accountId)) parts.accountId = accountId;
  return parts;
}
