// mdn.js: libas2 reads an MDN and, given the signer's certificate, verifies it.
//
//   node mdn.js --in mdn.http [--cert signer.crt]
//
// Prints {"messageId", "explanation", "notification"}; a signature that does
// not verify is an error (exit status 1).
'use strict';
const fs = require('fs');
const { AS2Parser } = require('libas2');
const { args, readCapture, main } = require('./common');

main(async () => {
  const a = args(['in', 'cert']);
  const node = await AS2Parser.parse(readCapture(a.in));
  const mdn = await node.dispositionIn(a.cert ? { cert: fs.readFileSync(a.cert) } : undefined);
  // The root's Message-ID: libas2 takes it from the signed content of a signed MDN, which has none.
  return { messageId: node.messageId(), explanation: mdn.explanation, notification: mdn.notification };
});
