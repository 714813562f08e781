// Helpers shared by the CLI scripts that let as2gate's Go tests drive libas2.
//
// Messages and MDNs travel between Go and these scripts as capture files:
// HTTP header lines, an empty line, the HTTP body (what as2.ReadCapture reads).
'use strict';
const fs = require('fs');
const { parseArgs } = require('util');

// args parses --name value options; every option is a string.
function args(names) {
  const options = {};
  for (const n of names) options[n] = { type: 'string' };
  return parseArgs({ options, strict: true }).values;
}

// readCapture returns the headers as Node's rawHeaders ([k1, v1, k2, v2, ...],
// folded lines unfolded) and the body as a Buffer, as an HTTP server hands
// them to AS2Parser.parse.
function readCapture(file) {
  const data = fs.readFileSync(file);
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`${file}: no empty line after the headers`);
  const headers = [];
  for (const line of data.toString('latin1', 0, end).replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`${file}: bad header line ${JSON.stringify(line)}`);
    headers.push(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { headers, content: data.subarray(end + 4) };
}

// writeCapture writes what toRequestOptions/buildObject return: a header
// object (a repeated header has an array of values) and a string body.
function writeCapture(file, headers, body) {
  let text = '';
  for (const [k, v] of Object.entries(headers)) {
    for (const value of [].concat(v)) text += `${k}: ${value}\r\n`;
  }
  fs.writeFileSync(file, text + '\r\n' + body); // UTF-8, as libas2's request() sends it
}

// main runs fn and prints its result as JSON, or the error on stderr with
// exit status 1.
function main(fn) {
  fn().then(
    result => process.stdout.write(JSON.stringify(result) + '\n'),
    err => {
      process.stderr.write(`libas2: ${err && err.stack ? err.stack : err}\n`);
      process.exitCode = 1;
    }
  );
}

module.exports = { args, readCapture, writeCapture, main };
