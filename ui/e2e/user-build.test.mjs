// What users get has no test hook: the UI in the package `cargo xtask build` makes (the same
// `npm run build:copy` kit runs) never mentions window.__voiceChat, while the package these
// browser tests install does (so this check would see it if it leaked).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { packageZip, userPackageZip } from './lib/artifacts.mjs';

/** The text of every file under ui/ in a package zip, concatenated. */
const uiText = (zip) => execFileSync('unzip', ['-p', zip, 'ui/*'], { maxBuffer: 64 * 1024 * 1024 }).toString('latin1');

describe('the test hook', () => {
  it('is not in the package users get', () => {
    const text = uiText(userPackageZip());
    assert.match(text, /<div id="root"><\/div>/, 'the UI is in the package');
    assert.match(text, /guest-ws/, "the app's code is in it too");
    assert.equal(text.includes('__voiceChat'), false);
  });

  it('is in the package the browser tests install', () => {
    assert.equal(uiText(packageZip()).includes('__voiceChat'), true);
  });
});
