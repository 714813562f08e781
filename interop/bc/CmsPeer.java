// CmsPeer is the Bouncy Castle side of as2gate's CMS interoperability tests
// (internal/cms/bouncycastle_test.go): a small command-line tool that makes
// and reads the structures as2gate exchanges, using only BC's own code.
//
//   java -cp bcprov.jar:bcpkix.jar:bcutil.jar:<classes> CmsPeer <op> args...
//   java -cp ... CmsPeer batch <file>     one operation per line, arguments tab-separated
//
// Operations (files are paths; certificates and PKCS#8 keys are PEM):
//   compress   <in> <out>
//   decompress <in> <out>
//   encrypt    <cipher> <transport> <cert> <in> <out>
//              cipher: 3des aes128-cbc aes192-cbc aes256-cbc aes128-gcm aes192-gcm aes256-gcm
//              transport: pkcs1 oaep-sha1 oaep-sha256 oaep-sha384 oaep-sha512
//   decrypt    <cert> <key> <in> <out>
//   sign       <digest> <pkcs1|pss> <cert> <key> <content> <out>   detached; digest: sha1 ... sha512
//   verify     <cert> <sig> <content>                              detached
//
// Each operation prints one line: "ok" followed by what BC read (algorithm
// OIDs as key=value), or "error" and the message. Batch mode keeps going
// after an error, so negative cases can share one JVM start.
import java.io.FileReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.security.spec.MGF1ParameterSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.cms.AuthEnvelopedData;
import org.bouncycastle.asn1.cms.CMSAttributes;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.pkcs.RSAESOAEPparams;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSAuthEnvelopedData;
import org.bouncycastle.cms.CMSAuthEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSCompressedData;
import org.bouncycastle.cms.CMSCompressedDataGenerator;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyTransAuthEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientId;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.cms.jcajce.ZlibCompressor;
import org.bouncycastle.cms.jcajce.ZlibExpanderProvider;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OutputAEADEncryptor;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;

public final class CmsPeer {
    public static void main(String[] args) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        if (args.length == 2 && args[0].equals("batch")) {
            for (String line : Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8)) {
                if (!line.isEmpty()) {
                    System.out.println(run(line.split("\t")));
                }
            }
            return;
        }
        String result = run(args);
        System.out.println(result);
        if (result.startsWith("error")) {
            System.exit(1);
        }
    }

    static String run(String[] a) {
        try {
            String info;
            switch (a[0]) {
                case "compress": info = compress(a[1], a[2]); break;
                case "decompress": info = decompress(a[1], a[2]); break;
                case "encrypt": info = encrypt(a[1], a[2], a[3], a[4], a[5]); break;
                case "decrypt": info = decrypt(a[1], a[2], a[3], a[4]); break;
                case "sign": info = sign(a[1], a[2], a[3], a[4], a[5], a[6]); break;
                case "verify": info = verify(a[1], a[2], a[3]); break;
                default: throw new IllegalArgumentException("unknown operation " + a[0]);
            }
            return ("ok " + info).trim();
        } catch (Exception e) {
            // One line per operation: the caller pairs results with requests.
            return ("error " + e).replace('\n', ' ');
        }
    }

    static byte[] read(String path) throws Exception {
        return Files.readAllBytes(Paths.get(path));
    }

    static void write(String path, byte[] data) throws Exception {
        Files.write(Paths.get(path), data);
    }

    static Object pem(String path) throws Exception {
        try (Reader r = new FileReader(path); PEMParser p = new PEMParser(r)) {
            return p.readObject();
        }
    }

    static X509Certificate cert(String path) throws Exception {
        return new JcaX509CertificateConverter().setProvider("BC").getCertificate((X509CertificateHolder) pem(path));
    }

    static PrivateKey key(String path) throws Exception {
        return new JcaPEMKeyConverter().setProvider("BC").getPrivateKey((PrivateKeyInfo) pem(path));
    }

    // compress uses the non-streaming generator, whose encoding is BER with
    // indefinite lengths, as BC-based AS2 products send it.
    static String compress(String in, String out) throws Exception {
        CMSCompressedData cd = new CMSCompressedDataGenerator()
            .generate(new CMSProcessableByteArray(read(in)), new ZlibCompressor());
        write(out, cd.getEncoded());
        return "";
    }

    static String decompress(String in, String out) throws Exception {
        write(out, new CMSCompressedData(read(in)).getContent(new ZlibExpanderProvider()));
        return "";
    }

    static ASN1ObjectIdentifier cipherOID(String name) {
        switch (name) {
            case "3des": return CMSAlgorithm.DES_EDE3_CBC;
            case "aes128-cbc": return CMSAlgorithm.AES128_CBC;
            case "aes192-cbc": return CMSAlgorithm.AES192_CBC;
            case "aes256-cbc": return CMSAlgorithm.AES256_CBC;
            case "aes128-gcm": return CMSAlgorithm.AES128_GCM;
            case "aes192-gcm": return CMSAlgorithm.AES192_GCM;
            case "aes256-gcm": return CMSAlgorithm.AES256_GCM;
        }
        throw new IllegalArgumentException("unknown cipher " + name);
    }

    static JceKeyTransRecipientInfoGenerator recipient(String transport, X509Certificate c) throws Exception {
        if (transport.equals("pkcs1")) {
            return new JceKeyTransRecipientInfoGenerator(c);
        }
        if (!transport.startsWith("oaep-sha")) {
            throw new IllegalArgumentException("unknown key transport " + transport);
        }
        String hash = "SHA-" + transport.substring("oaep-sha".length()); // SHA-1, SHA-256, ...
        OAEPParameterSpec spec = new OAEPParameterSpec(hash, "MGF1", new MGF1ParameterSpec(hash), PSource.PSpecified.DEFAULT);
        AlgorithmIdentifier alg = new JcaAlgorithmParametersConverter()
            .getAlgorithmIdentifier(PKCSObjectIdentifiers.id_RSAES_OAEP, spec);
        return new JceKeyTransRecipientInfoGenerator(c, alg);
    }

    static String encrypt(String cipher, String transport, String certPath, String in, String out) throws Exception {
        X509Certificate c = cert(certPath);
        ASN1ObjectIdentifier oid = cipherOID(cipher);
        CMSProcessableByteArray content = new CMSProcessableByteArray(read(in));
        if (cipher.endsWith("-gcm")) {
            CMSAuthEnvelopedDataGenerator g = new CMSAuthEnvelopedDataGenerator();
            g.addRecipientInfoGenerator(recipient(transport, c).setProvider("BC"));
            OutputAEADEncryptor enc = (OutputAEADEncryptor) new JceCMSContentEncryptorBuilder(oid).setProvider("BC").build();
            write(out, g.generate(content, enc).getEncoded());
        } else {
            CMSEnvelopedDataGenerator g = new CMSEnvelopedDataGenerator();
            g.addRecipientInfoGenerator(recipient(transport, c).setProvider("BC"));
            write(out, g.generate(content, new JceCMSContentEncryptorBuilder(oid).setProvider("BC").build()).getEncoded());
        }
        return "";
    }

    // decrypt reports the content-encryption algorithm and the key transport
    // as BC read them: cipher=<oid> transport=<oid> [oaep-hash=<oid> mgf1-hash=<oid>].
    static String decrypt(String certPath, String keyPath, String in, String out) throws Exception {
        X509Certificate c = cert(certPath);
        PrivateKey k = key(keyPath);
        byte[] data = read(in);
        RecipientInformation ri;
        String cipher;
        byte[] plain;
        if (isAuthEnveloped(data)) {
            CMSAuthEnvelopedData ad = new CMSAuthEnvelopedData(data);
            cipher = AuthEnvelopedData.getInstance(ad.toASN1Structure().getContent())
                .getAuthEncryptedContentInfo().getContentEncryptionAlgorithm().getAlgorithm().getId();
            ri = ad.getRecipientInfos().get(new JceKeyTransRecipientId(c));
            if (ri == null) {
                throw new IllegalStateException("no recipient info for the certificate");
            }
            plain = ri.getContent(new JceKeyTransAuthEnvelopedRecipient(k).setProvider("BC"));
        } else {
            CMSEnvelopedData ed = new CMSEnvelopedData(data);
            cipher = ed.getEncryptionAlgOID();
            ri = ed.getRecipientInfos().get(new JceKeyTransRecipientId(c));
            if (ri == null) {
                throw new IllegalStateException("no recipient info for the certificate");
            }
            plain = ri.getContent(new JceKeyTransEnvelopedRecipient(k).setProvider("BC"));
        }
        write(out, plain);
        AlgorithmIdentifier kt = ri.getKeyEncryptionAlgorithm();
        String info = "cipher=" + cipher + " transport=" + kt.getAlgorithm().getId();
        if (kt.getAlgorithm().equals(PKCSObjectIdentifiers.id_RSAES_OAEP)) {
            RSAESOAEPparams p = RSAESOAEPparams.getInstance(kt.getParameters());
            AlgorithmIdentifier mgfHash = AlgorithmIdentifier.getInstance(p.getMaskGenAlgorithm().getParameters());
            info += " oaep-hash=" + p.getHashAlgorithm().getAlgorithm().getId() + " mgf1-hash=" + mgfHash.getAlgorithm().getId();
        }
        return info;
    }

    static boolean isAuthEnveloped(byte[] data) throws Exception {
        return ContentInfo.getInstance(data).getContentType()
            .equals(PKCSObjectIdentifiers.id_ct_authEnvelopedData);
    }

    static String sign(String digest, String scheme, String certPath, String keyPath, String in, String out) throws Exception {
        X509Certificate c = cert(certPath);
        String alg = digest.toUpperCase() + "withRSA" + (scheme.equals("pss") ? "andMGF1" : "");
        if (!scheme.equals("pss") && !scheme.equals("pkcs1")) {
            throw new IllegalArgumentException("unknown signature scheme " + scheme);
        }
        CMSSignedDataGenerator g = new CMSSignedDataGenerator();
        g.addSignerInfoGenerator(new JcaSimpleSignerInfoGeneratorBuilder().setProvider("BC").build(alg, key(keyPath), c));
        g.addCertificates(new JcaCertStore(Collections.singletonList(c)));
        write(out, g.generate(new CMSProcessableByteArray(read(in)), false).getEncoded());
        return "";
    }

    // verify checks every signer against the certificate and reports the
    // first: digest=<oid> signature=<oid> [pss-hash=<oid>] protection=<bool>.
    static String verify(String certPath, String sigPath, String contentPath) throws Exception {
        X509Certificate c = cert(certPath);
        CMSSignedData sd = new CMSSignedData(new CMSProcessableByteArray(read(contentPath)), read(sigPath));
        List<SignerInformation> signers = new ArrayList<>(sd.getSignerInfos().getSigners());
        if (signers.isEmpty()) {
            throw new IllegalStateException("no signers");
        }
        for (SignerInformation si : signers) {
            if (!si.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(c))) {
                throw new IllegalStateException("signature does not verify");
            }
        }
        SignerInformation si = signers.get(0);
        String info = "digest=" + si.getDigestAlgOID() + " signature=" + si.getEncryptionAlgOID();
        if (si.getEncryptionAlgOID().equals(PKCSObjectIdentifiers.id_RSASSA_PSS.getId())) {
            info += " pss-hash=" + RSASSAPSSparams.getInstance(si.getEncryptionAlgParams()).getHashAlgorithm().getAlgorithm().getId();
        }
        boolean protection = si.getSignedAttributes() != null
            && si.getSignedAttributes().get(CMSAttributes.cmsAlgorithmProtect) != null;
        return info + " protection=" + protection;
    }
}
