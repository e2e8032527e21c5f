// Runs the conformance kit over every connector folder under connectors/. Nothing here names a connector:
// a new folder is picked up automatically, and a folder without conformance.ts fails instead of being skipped.
import { conformanceFile, connectorFolders, defineConformanceSuite } from './conformance-kit';

const folders = connectorFolders();

describe('conformance kit', () => {
  it('finds connector folders', () => {
    expect(folders.length).toBeGreaterThan(0);
  });

  describe.each(folders)('connector %s', (id) => {
    it('has connectors/<id>/conformance.ts', () => {
      expect({ id, conformance: conformanceFile(id) !== undefined }).toEqual({ id, conformance: true });
    });
    // Without a profile the only result is the failure above; the suite itself cannot start.
    if (conformanceFile(id)) defineConformanceSuite(id);
  });
});
