// receive.js: libas2 receives an AS2 message: decrypts it when it is
// enveloped, verifies it when it is signed, writes the payload.
//
//   node --security-revert=CVE-2023-46809 receive.js --in message.http \
//     --receiver-key r.key --receiver-cert r.crt --sender-cert s.crt \
//     --payload-out payload.bin [--mdn-out mdn.http --mdn-sign sha-256]
//
// Prints {"encrypted", "signed", "contentType", "filename"} and, with
// --mdn-out, "mdn": the notification of the signed MDN libas2 wrote for the
// message (dispositionOut, which decrypts and verifies on its own).
'use strict';
const fs = require('fs');
const { AS2Crypto, AS2Parser } = require('libas2');
const { args, readCapture, writeCapture, main } = require('./common');

main(async () => {
  const a = args(['in', 'receiver-key', 'receiver-cert', 'sender-cert', 'payload-out', 'mdn-out', 'mdn-sign']);
  const receiver = { cert: fs.readFileSync(a['receiver-cert']), key: fs.readFileSync(a['receiver-key']) };
  const senderCert = fs.readFileSync(a['sender-cert']);

  const message = await AS2Parser.parse(readCapture(a.in));
  let node = message;
  const encrypted = Boolean(node.encrypted);
  if (encrypted) node = await node.decrypt(receiver);
  const signed = Boolean(node.signed);
  if (signed) {
    node = await node.verify({ cert: senderCert });
    if (!node) throw new Error('the signature does not verify');
  }
  if (node.compressed) node = await AS2Crypto.decompress(node); // libas2 0.8.2 throws NOT YET IMPLEMENTED
  // libas2 passes S/MIME it does not know (authEnveloped-data) as a payload.
  if (node.smime) throw new Error(`libas2 left ${node.contentType} undecoded`);
  fs.writeFileSync(a['payload-out'], node.content);
  const result = { encrypted, signed, contentType: node.getHeader('Content-Type'), filename: node.filename };

  if (a['mdn-out']) {
    const { dispositionNode, disposition } = await message.dispositionOut({
      agreement: {
        host: { id: message.getHeader('AS2-To'), certificate: receiver.cert, privateKey: receiver.key, decrypt: encrypted },
        partner: { id: message.getHeader('AS2-From'), certificate: senderCert, verify: signed, mdn: { signing: a['mdn-sign'] || false } },
      },
    });
    const { headers, body } = await dispositionNode.buildObject();
    writeCapture(a['mdn-out'], headers, body);
    result.mdn = disposition.notification;
  }
  return result;
});
