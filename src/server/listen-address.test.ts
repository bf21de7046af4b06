import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { isLoopback, parseListen } from './listen-address.js';

describe('--listen', () => {
  it('reads HOST:PORT, [IPv6]:PORT and :PORT', () => {
    const table: [string, ReturnType<typeof parseListen>][] = [
      ['127.0.0.1:7070', { host: '127.0.0.1', port: 7070 }],
      ['localhost:0', { host: 'localhost', port: 0 }],
      ['[::1]:8443', { host: '::1', port: 8443 }],
      [':7070', { host: '0.0.0.0', port: 7070 }],
      ['10.1.2.3:65535', { host: '10.1.2.3', port: 65535 }],
      ['localhost', undefined],
      ['127.0.0.1:70000', undefined],
      ['[nothost]:80', undefined],
      ['::1:80', undefined],
      ['host:port', undefined],
    ];
    for (const [text, expected] of table) assert.deepEqual(parseListen(text), expected, text);
  });

  it('knows which addresses only this machine reaches', () => {
    for (const h of ['127.0.0.1', '127.9.8.7', 'localhost', '::1', 'LOCALHOST']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.org', '127.example.org'])
      assert.equal(isLoopback(h), false, h);
  });
});
