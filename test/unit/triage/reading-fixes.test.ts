import { salientFields } from '../../../lib/triage/analysers/alert-details';
import { flapping } from '../../../lib/triage/analysers/flapping';
import { recurrence } from '../../../lib/triage/analysers/recurrence';
import { triageIncident } from '../../../lib/triage/triage';
import {
  daysBefore,
  hoursBefore,
  makeAlert,
  makeIncident,
  makeIncidentContext,
  makePastIncident,
  makeTriagePolicy,
} from '../../support/incident-context';

/** What a read of the agent's notes showed was wrong; each test failed on the code before the fix. */

const policy = makeTriagePolicy();
const AGENT_NOTE = [
  '**Likely caused by deploy `api v2.3.1` 3 min before the trigger**',
  '',
  '**Confidence:** 62% · **Decision:** escalate to on-call.',
  '---',
  '_pd-agent · env `prod` · ref `pda-0a1b2c3d4e`_',
].join('\n');

describe("the agent's own earlier notes", () => {
  const title = 'Disk 93% full on db-7';

  it('are not quoted as how a past incident was resolved, and do not make the recurrence look understood', () => {
    const past = makePastIncident(daysBefore(2), { title: 'Disk 91% full on db-4' });
    const context = makeIncidentContext({
      incident: makeIncident({ title }),
      recentIncidents: [past],
      resolutionNotes: { [past.id]: [AGENT_NOTE] },
    });
    const finding = recurrence(context, policy);
    expect(finding?.summary).not.toContain('last resolved with');
    expect(finding?.summary).toContain('without a resolution note');
    expect(finding?.nextSteps.join('\n')).not.toContain('Likely caused by deploy');
    const withoutNotes = recurrence({ ...context, resolutionNotes: {} }, policy);
    expect(finding?.weight).toBe(withoutNotes?.weight);
  });

  it("still quotes a person's note written after the agent's", () => {
    const past = makePastIncident(daysBefore(2), { title: 'Disk 91% full on db-4' });
    const context = makeIncidentContext({
      incident: makeIncident({ title }),
      recentIncidents: [past],
      resolutionNotes: { [past.id]: [AGENT_NOTE, 'Cleared old WAL files with pg_archivecleanup'] },
    });
    expect(recurrence(context, policy)?.summary).toContain('last resolved with: "Cleared old WAL files with pg_archivecleanup"');
  });
});

describe('an incident that keeps clearing by itself', () => {
  it('is headlined recurring, with how often it comes back and how fast it clears, not "flapping"', () => {
    const title = 'Checkout p99 latency above 2s';
    const past = [1, 3, 5].map((hours, index) => makePastIncident(hoursBefore(hours), { title, resolvedAfterMinutes: 2 + 2 * index }));
    const finding = flapping(makeIncidentContext({ incident: makeIncident({ title }), recentIncidents: past }), policy);
    expect(finding?.summary).toMatch(/^Recurring, clears by itself: 3 similar incidents/);
    expect(finding?.summary).toContain('about every 1 h 40 min');
    expect(finding?.summary).toContain('cleared within 6 min (median 4 min)');
    expect(finding?.summary).not.toContain('Flapping');
  });
});

describe('past incidents cited by two analysers', () => {
  it('are listed once in the hypothesis', () => {
    const title = 'Checkout p99 latency above 2s';
    const past = [1, 2, 3].map((hours) => makePastIncident(hoursBefore(hours), { title, resolvedAfterMinutes: 3 }));
    const hypothesis = triageIncident(makeIncidentContext({ incident: makeIncident({ title }), recentIncidents: past }), policy);
    const links = hypothesis.evidence.map((evidence) => evidence.link).filter((link) => link !== undefined && link.includes('/incidents/'));
    expect(links.sort()).toEqual(past.map((incident) => incident.html_url).sort());
  });
});

describe('alert details beyond a few known keys', () => {
  it('reach the note, most telling first', () => {
    const alert = makeAlert({
      body: { details: { mountpoint: '/var/lib/docker', used_percent: '97', checked_at: '2026-03-10T03:11:00Z', fs_type: 'xfs' } },
    });
    const fields = salientFields(alert);
    expect(fields[0]).toEqual(['used_percent', '97']);
    expect(fields.map(([key]) => key)).toContain('mountpoint');
    expect(fields.map(([key]) => key)).not.toContain('checked_at');
  });
});
