import fc from 'fast-check';
import { FUZZ_PROPERTIES } from '../../support/fuzz-properties';

// Short runs in `npm test`; `npm run fuzz` runs the same properties for 100,000+ cases.
describe('fuzz: signature verifier', () => {
  it.each(FUZZ_PROPERTIES.filter((item) => item.name.startsWith('verifier')).map((item) => [item.name, item] as const))(
    '%s',
    (_name, item) => {
      const details = item.check({ numRuns: 300 });
      expect(details.failed ? fc.defaultReportMessage(details) : 'passed').toBe('passed');
    },
  );
});
