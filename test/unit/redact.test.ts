import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argSecrets, redactText, redactUrl, urlSecrets } from '../../src/sources/redact.js';

test('a URL loses its credentials and query string', () => {
  assert.equal(redactUrl('rtsp://admin:secret@cam/s'), 'rtsp://***@cam/s');
  assert.equal(redactUrl('http://cam.local/video.mjpg?token=abc&x=1'), 'http://cam.local/video.mjpg?***');
  assert.equal(redactUrl('http://u:p@ss@cam:8080/v?t=1#frag'), 'http://***@cam:8080/v?***');
  assert.equal(redactUrl('rtsp://cam/s'), 'rtsp://cam/s');
});

test('free text: every URL is redacted, then every known secret, also percent-decoded', () => {
  const url = 'http://camuser:pa%40ss%20word@127.0.0.1:9/cam.mjpg?token=upstream-secret';
  const secrets = urlSecrets(url);
  assert.deepEqual(new Set(secrets), new Set(['camuser', 'pa%40ss%20word', 'pa@ss word', 'upstream-secret']));
  assert.equal(redactText(`${url}: Connection refused`, secrets), 'http://***@127.0.0.1:9/cam.mjpg?***: Connection refused');
  assert.equal(redactText('[http @ 0x1] 401 for user camuser with pa@ss word', secrets), '[http @ 0x1] 401 for user *** with ***');
  assert.equal(redactText('short ab stays', urlSecrets('http://ab:cd@h/')), 'short ab stays', 'secrets under 4 characters would mangle text');
  assert.deepEqual(argSecrets(['-rtsp_transport', 'tcp', '-i', 'rtsp://u:longpassword@cam/s']), ['longpassword']);
});
