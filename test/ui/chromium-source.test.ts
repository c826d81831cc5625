import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { npmChromium, pinnedVersion } from '../../scripts/lib/chromium-npm';
import { PROJECT_ROOT } from '../../scripts/lib/project';

const run = promisify(execFile);

// The browser test must not depend on the machine's packages where `npm ci` can provide the
// browser: if the npm copy stopped working, the search would quietly fall back to apt-get.
describe("the browser test's Chromium from npm", () => {
  if (process.platform === 'linux' && process.arch === 'x64') {
    it('on linux-x64, is the pinned @sparticuz/chromium, unpacked into .cache/chromium, and runs', async () => {
      const bin = await npmChromium(() => undefined);
      expect(bin).toBe(path.join(PROJECT_ROOT, '.cache', 'chromium', pinnedVersion(), 'chromium'));
      const { stdout } = await run(bin, ['--version'], { timeout: 30_000 });
      expect(stdout).toMatch(new RegExp(`^Chromium ${pinnedVersion().split('.')[0]}\\.`));
    });
  } else {
    it("elsewhere, is refused with the reason, so the search goes on to the system's Chromium", async () => {
      await expect(npmChromium(() => undefined)).rejects.toThrow(/linux-x64 build only/);
    });
  }
});
