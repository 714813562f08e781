// compose.js: libas2 composes an AS2 message from a payload file.
//
//   node --security-revert=CVE-2023-46809 compose.js --payload order.x12 \
//     --content-type application/edi-x12 --filename order.x12 \
//     --sign sha-256|none --encrypt aes256-CBC|des-EDE3-CBC|...|none \
//     --sender-key s.key --sender-cert s.crt --receiver-cert r.crt --out message.http
//
// Writes the message as a capture file; prints {"messageId": ...}.
'use strict';
const fs = require('fs');
const { AS2Composer } = require('libas2');
const { args, writeCapture, main } = require('./common');

main(async () => {
  const a = args(['payload', 'content-type', 'filename', 'sign', 'encrypt', 'sender-key', 'sender-cert', 'receiver-cert', 'out']);
  const sign = a.sign === 'none' ? false : a.sign;
  const encrypt = a.encrypt === 'none' ? false : a.encrypt;
  const composer = new AS2Composer({
    message: { filename: a.filename, contentType: a['content-type'], content: fs.readFileSync(a.payload) },
    agreement: {
      host: {
        name: 'libas2 sender', id: 'libas2-sender', url: 'http://localhost/as2',
        certificate: fs.readFileSync(a['sender-cert']), privateKey: fs.readFileSync(a['sender-key']),
        decrypt: false, sign, mdn: { async: false, signing: 'sha-256' },
      },
      partner: {
        name: 'as2gate', id: 'as2gate', url: 'http://localhost/as2', file: 'EDIX12',
        certificate: fs.readFileSync(a['receiver-cert']), encrypt, verify: true,
      },
    },
  });
  const { headers, body } = await composer.toRequestOptions();
  writeCapture(a.out, headers, body);
  return { messageId: headers['Message-ID'] };
});
