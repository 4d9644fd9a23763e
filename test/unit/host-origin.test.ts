import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostAllowed, hostName, originAllowed } from '../../src/server/http/host-origin.js';

test('Host allow-list: IP literals, localhost and listed names; ports and case do not matter', () => {
  assert.equal(hostName('[::1]:8080'), '::1');
  assert.equal(hostName('Camera.Example.org.:8080'), 'camera.example.org');
  assert.equal(hostName('evil.example/x'), null);
  for (const h of ['127.0.0.1:8080', '192.168.1.20', '[2001:db8::1]:80', 'localhost:8080', 'x.localhost', 'cam.example.org:443', undefined]) {
    assert.ok(hostAllowed(h, ['cam.example.org']), String(h));
  }
  for (const h of ['evil.example', 'cam.example.org.evil.example', 'localhost.evil.example', '', '[::1', 'a b']) assert.ok(!hostAllowed(h, ['cam.example.org']), h);
});

test('Origin: the server\'s own (same host and port as Host), listed ones, or none at all (not a browser)', () => {
  assert.ok(originAllowed(undefined, '127.0.0.1:8080', []));
  assert.ok(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080', []));
  assert.ok(originAllowed('https://camera.example.org', 'camera.example.org', []), 'TLS ended at a proxy that passes Host on');
  assert.ok(originAllowed('http://cam', 'cam:80', []), 'a default port written out');
  assert.ok(!originAllowed('http://127.0.0.1:8081', '127.0.0.1:8080', []), 'another port is another origin');
  assert.ok(!originAllowed('http://evil.example', '127.0.0.1:8080', []));
  assert.ok(!originAllowed('null', '127.0.0.1:8080', []));
  assert.ok(!originAllowed('http://127.0.0.1:8080', undefined, []));
  assert.ok(originAllowed('https://dash.example.org', '127.0.0.1:8080', ['https://dash.example.org']));
  assert.ok(originAllowed('http://anything.example', '127.0.0.1:8080', ['*']));
});
